using System.Diagnostics.CodeAnalysis;

namespace FastLra;

/// <summary>Throw sites kept out of hot methods so those stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ShapeMismatch() =>
        throw new ArgumentException("A span is shorter than the shape given for it.");

    [DoesNotReturn]
    public static void Argument(string message, string? paramName = null) =>
        throw new ArgumentException(message, paramName);
}
