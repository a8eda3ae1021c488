using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using FastLra.IO;
using FastLra.Model;
using FastLra.Training;

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

    /// <summary>A learner of fresh (orthogonal) weights of the given widths; <paramref name="options"/> as <see cref="LearnerOptions"/> reads them.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_learner_create")]
    public static nint LearnerCreate(int inputs, int hidden, int outputs, byte* options)
    {
        try
        {
            if (inputs <= 0 || hidden <= 0 || outputs <= 0) return FailHandle("fastlra_learner_create: the widths must be positive.");
            var (o, window, every, mode) = LearnerOptions(options, new TrainingOptions { Hidden = hidden });
            return Add(new OnlineLearner(o with { Hidden = hidden }, inputs, outputs, window, every, null, 1000, mode), "fastlra_learner_create");
        }
        catch (Exception e) when (e is ArgumentException or OptionException)
        {
            return FailHandle($"fastlra_learner_create: {e.Message}");
        }
        catch (Exception e)
        {
            return FailHandle($"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>A learner starting from a model file (its widths and normalisation), or resuming a learner file saved by fastlra_learner_save.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_learner_open")]
    public static nint LearnerOpen(byte* path, byte* options)
    {
        try
        {
            if (path is null) return FailHandle("fastlra_learner_open: path is NULL.");
            string file = Marshal.PtrToStringUTF8((nint)path)!;
            var saved = new SafeTensors.SafeTensorsFile(file).Metadata;
            if (saved.TryGetValue("format", out string? format) && format == OnlineLearner.Format)
            {
                // A saved learner keeps its own options; only the mode may be chosen.
                var (_, _, _, resumeMode) = LearnerOptions(options, new TrainingOptions(), modeOnly: true);
                return Add(OnlineLearner.Load(file, resumeMode), "fastlra_learner_open");
            }
            var model = RnnModel.Load(file);
            var (o, window, every, mode) = LearnerOptions(options, new TrainingOptions());
            return Add(new OnlineLearner(o with { Hidden = model.Shape.Hidden }, model.Shape.Inputs, model.Shape.Outputs, window, every, model, 1000, mode),
                "fastlra_learner_open");
        }
        catch (Exception e) when (e is WeightFileException)
        {
            return FailHandle(e.Message);
        }
        catch (Exception e) when (e is ArgumentException or OptionException)
        {
            return FailHandle($"fastlra_learner_open: {e.Message}");
        }
        catch (Exception e)
        {
            return FailHandle($"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>One tick: x has I floats, target O floats or NULL (predict only), prediction receives O floats. No allocation.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_learner_step")]
    public static int LearnerStep(nint learner, float* x, float* target, float* prediction)
    {
        try
        {
            if (Target<OnlineLearner>(learner) is not { } l) return Fail(InvalidArgument, "fastlra_learner_step: not a learner handle.");
            if (x is null || prediction is null) return Fail(InvalidArgument, "fastlra_learner_step: x or prediction is NULL.");
            var shape = l.Shape;
            l.Step(new ReadOnlySpan<float>(x, shape.Inputs), target is null ? default : new ReadOnlySpan<float>(target, shape.Outputs),
                new Span<float>(prediction, shape.Outputs));
            return Ok;
        }
        catch (Exception e)
        {
            return Fail(InternalError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>The learner's counters and recent error (any pointer may be NULL).</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_learner_stats")]
    public static int LearnerStats(nint learner, long* ticks, long* updates, long* skipped, double* recentRmse)
    {
        try
        {
            if (Target<OnlineLearner>(learner) is not { } l) return Fail(InvalidArgument, "fastlra_learner_stats: not a learner handle.");
            if (ticks is not null) *ticks = l.Ticks;
            if (updates is not null) *updates = l.Updates;
            if (skipped is not null) *skipped = l.SkippedUpdates;
            if (recentRmse is not null) *recentRmse = l.RecentRmse;
            return Ok;
        }
        catch (Exception e)
        {
            return Fail(InternalError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Writes the learner's whole state atomically (a model file too); call it between ticks.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_learner_save")]
    public static int LearnerSave(nint learner, byte* path)
    {
        try
        {
            if (Target<OnlineLearner>(learner) is not { } l) return Fail(InvalidArgument, "fastlra_learner_save: not a learner handle.");
            if (path is null) return Fail(InvalidArgument, "fastlra_learner_save: path is NULL.");
            l.Save(Marshal.PtrToStringUTF8((nint)path)!);
            return Ok;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(InternalError, $"fastlra_learner_save: {e.Message}");
        }
        catch (Exception e)
        {
            return Fail(InternalError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Frees a learner (stopping its trainer thread first); a NULL, freed or foreign handle does nothing but leave a message.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_learner_free")]
    public static void LearnerFree(nint learner) => Free<OnlineLearner>(learner, "fastlra_learner_free: not a live learner handle.");

    /// <summary>
    /// A learner's settings from space-separated name=value pairs: the training options by their
    /// command-line names (algo, optimizer, lr, clip, k, beta, alpha, local-loss, clip-mode, seed)
    /// and window, update-every and mode (inline or background). NULL or empty takes the defaults
    /// (BPTT, SGD at 0.01, a window of 16, an update every tick, inline).
    /// </summary>
    private static (TrainingOptions Options, int Window, int Every, OnlineMode Mode) LearnerOptions(byte* text, TrainingOptions o, bool modeOnly = false)
    {
        int window = 16, every = 1;
        var mode = OnlineMode.Inline;
        string all = text is null ? "" : Marshal.PtrToStringUTF8((nint)text)!;
        foreach (string pair in all.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new ArgumentException($"'{pair}' is not name=value.");
            string name = pair[..eq], value = pair[(eq + 1)..];
            if (name == "mode")
            {
                mode = value switch
                {
                    "inline" => OnlineMode.Inline,
                    "background" => OnlineMode.Background,
                    _ => throw new ArgumentException($"unknown mode '{value}' (choose inline or background)."),
                };
                continue;
            }
            if (modeOnly) throw new ArgumentException($"a saved learner keeps its options; only mode may be given, not '{name}'.");
            if (name is "window" or "update-every")
            {
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
                    throw new ArgumentException($"{name} must be a positive integer, got '{value}'.");
                if (name == "window") window = n;
                else every = n;
                continue;
            }
            var option = TrainingOptionTable.Find(name);
            if (option is null || option.Scope is OptionScope.Synthetic or OptionScope.Data || name is "hidden" or "batch" or "max-iter" or "check-every" or "patience")
                throw new ArgumentException($"unknown learner option '{name}'.");
            o = option.Parse(o, value);
        }
        return (o, window, every, mode);
    }

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

    // Frees a handle of kind T (disposing what owns resources, as a learner's trainer thread);
    // NULL does nothing, a freed or foreign handle leaves the message.
    private static void Free<T>(nint handle, string message)
        where T : class
    {
        try
        {
            if (handle == 0) return;
            if (HandleTable.Remove<T>(handle) is { } freed) (freed as IDisposable)?.Dispose();
            else SetLastError(message);
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
