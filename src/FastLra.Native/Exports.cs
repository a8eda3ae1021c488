using System.Runtime.InteropServices;
using System.Text;
using FastLra.IO;
using FastLra.Model;

namespace FastLra.Native;

/// <summary>
/// The C ABI of fastlra.h. Objects cross the boundary as opaque handles (<see cref="HandleTable"/>:
/// a freed, stale or garbage handle is refused with an error code, never resolved); every
/// entry point catches everything, so no exception ever unwinds into C: failures return an error
/// code (or NULL) and leave a message for <c>fastlra_last_error</c> on the calling thread.
/// </summary>
public static unsafe class Exports
{
    private const int Ok = 0;
    private const int InvalidArgument = -1;
    private const int InternalError = -2;

    [ThreadStatic]
    private static byte* t_lastError;

    [UnmanagedCallersOnly(EntryPoint = "fastlra_model_load")]
    public static nint ModelLoad(byte* path)
    {
        try
        {
            if (path is null) return FailHandle("fastlra_model_load: path is NULL.");
            var model = RnnModel.Load(Marshal.PtrToStringUTF8((nint)path)!);
            return Add(model, "fastlra_model_load");
        }
        catch (WeightFileException e)
        {
            return FailHandle(e.Message);
        }
        catch (Exception e)
        {
            return FailHandle($"{e.GetType().Name}: {e.Message}");
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "fastlra_model_shape")]
    public static int ModelShape(nint model, int* inputs, int* hidden, int* outputs)
    {
        try
        {
            if (Target<RnnModel>(model) is not { } m) return Fail(InvalidArgument, "fastlra_model_shape: not a model handle.");
            if (inputs is not null) *inputs = m.Shape.Inputs;
            if (hidden is not null) *hidden = m.Shape.Hidden;
            if (outputs is not null) *outputs = m.Shape.Outputs;
            return Ok;
        }
        catch (Exception e)
        {
            return Fail(InternalError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "fastlra_state_create")]
    public static nint StateCreate(nint model)
    {
        try
        {
            if (Target<RnnModel>(model) is not { } m) return FailHandle("fastlra_state_create: not a model handle.");
            return Add(new RnnState(m), "fastlra_state_create");
        }
        catch (Exception e)
        {
            return FailHandle($"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>One step: x has the model's I floats, y receives its O floats. No allocation.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_step")]
    public static int Step(nint state, float* x, float* y)
    {
        try
        {
            if (Target<RnnState>(state) is not { } s) return Fail(InvalidArgument, "fastlra_step: not a state handle.");
            if (x is null || y is null) return Fail(InvalidArgument, "fastlra_step: x or y is NULL.");
            var shape = s.Model.Shape;
            s.Step(new ReadOnlySpan<float>(x, shape.Inputs), new Span<float>(y, shape.Outputs));
            return Ok;
        }
        catch (Exception e)
        {
            return Fail(InternalError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "fastlra_state_reset")]
    public static int StateReset(nint state)
    {
        try
        {
            if (Target<RnnState>(state) is not { } s) return Fail(InvalidArgument, "fastlra_state_reset: not a state handle.");
            s.Reset();
            return Ok;
        }
        catch (Exception e)
        {
            return Fail(InternalError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Frees a state; a NULL, freed or foreign handle changes nothing and leaves a message.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_state_free")]
    public static void StateFree(nint state) => Free<RnnState>(state, "fastlra_state_free: not a live state handle.");

    /// <summary>Frees a model; its states keep it alive until they are freed too.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_model_free")]
    public static void ModelFree(nint model) => Free<RnnModel>(model, "fastlra_model_free: not a live model handle.");

    /// <summary>The calling thread's last error message (UTF-8), or NULL; valid until its next failing call.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_last_error")]
    public static byte* LastError() => t_lastError;

    private static T? Target<T>(nint handle)
        where T : class => HandleTable.Get<T>(handle);

    private static nint Add(object target, string function)
    {
        nint handle = HandleTable.Add(target);
        return handle != 0 ? handle : FailHandle($"{function}: too many live handles (2^24).");
    }

    private static void Free<T>(nint handle, string message)
        where T : class
    {
        try
        {
            if (handle != 0 && !HandleTable.Remove<T>(handle)) SetLastError(message);
        }
        catch (Exception e)
        {
            SetLastError($"{e.GetType().Name}: {e.Message}");
        }
    }

    private static nint FailHandle(string message)
    {
        SetLastError(message);
        return 0;
    }

    private static int Fail(int code, string message)
    {
        SetLastError(message);
        return code;
    }

    // The message goes to native memory owned by this thread; the previous one is freed.
    private static void SetLastError(string message)
    {
        int length = Encoding.UTF8.GetByteCount(message);
        var buffer = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(message, new Span<byte>(buffer, length));
        buffer[length] = 0;
        NativeMemory.Free(t_lastError);
        t_lastError = buffer;
    }
}
