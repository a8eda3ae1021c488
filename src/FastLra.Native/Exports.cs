using System.Globalization;
using System.Runtime.CompilerServices;
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
    private const int NonFiniteInput = -3;
    private const int DivergedCode = -4;

    // The longest message fastlra_last_error returns, and the longest piece of a caller's text
    // (an option, a value) quoted in one: a 10 MB options string is not echoed whole.
    private const int MaxMessageChars = 4096;
    private const int MaxQuotedChars = 100;

    [ThreadStatic]
    private static byte* t_lastError;

    // Whether t_lastError was allocated here (freed when replaced) or is one of the static messages
    // of the tick paths, which fail without allocating.
    [ThreadStatic]
    private static bool t_lastErrorOwned;

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
            return StateStep(s, new ReadOnlySpan<float>(x, shape.Inputs), new Span<float>(y, shape.Outputs));
        }
        catch (Exception e)
        {
            return Fail(InternalError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>fastlra_step with the buffers' lengths: a length that is not the model's is refused, never read past.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_step_n")]
    public static int StepN(nint state, float* x, nuint xLength, float* y, nuint yLength)
    {
        try
        {
            if (Target<RnnState>(state) is not { } s) return Fail(InvalidArgument, "fastlra_step_n: not a state handle.");
            if (x is null || y is null) return Fail(InvalidArgument, "fastlra_step_n: x or y is NULL.");
            var shape = s.Model.Shape;
            if (xLength != (nuint)shape.Inputs || yLength != (nuint)shape.Outputs)
                return Fail(InvalidArgument, $"fastlra_step_n: x_len is {xLength} and y_len {yLength}; the model takes {shape.Inputs} inputs and gives {shape.Outputs} outputs.");
            return StateStep(s, new ReadOnlySpan<float>(x, shape.Inputs), new Span<float>(y, shape.Outputs));
        }
        catch (Exception e)
        {
            return Fail(InternalError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static int StateStep(RnnState state, ReadOnlySpan<float> x, Span<float> y) =>
        state.TryStep(x, y)
            ? Ok
            : FailStatic(NonFiniteInput, "fastlra_step: the input is not finite (or leads to a state or output that is not); the state is unchanged and y holds the last output.\0"u8);

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
            var (o, online) = LearnerOptions(options, new TrainingOptions { Hidden = hidden });
            return Add(new OnlineLearner(o with { Hidden = hidden }, inputs, outputs, online.Window, online.UpdateEvery, null, 1000, online.Mode), "fastlra_learner_create");
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
            var parsed = new SafeTensors.SafeTensorsFile(file);
            bool tagged = parsed.Metadata.TryGetValue("format", out string? format);
            if (tagged && format == OnlineLearner.Format)
            {
                // A saved learner keeps its own options; only the mode may be chosen.
                var (_, resume) = LearnerOptions(options, new TrainingOptions(), modeOnly: true);
                return Add(OnlineLearner.Load(file, resume.Mode), "fastlra_learner_open");
            }
            // A learner's file whose tag was damaged must not start a fresh learner from its weights,
            // silently dropping its optimiser, window and counters.
            if (OnlineLearner.HasLearnerState(parsed))
                return FailHandle($"{file}: holds an online learner's state but its metadata 'format' is "
                    + $"{(tagged ? $"'{Quote(format!)}'" : "missing")}, not '{OnlineLearner.Format}': the file is damaged or of another version, and is not opened as a plain model.");
            var model = RnnModel.Load(file);
            var (o, online) = LearnerOptions(options, new TrainingOptions(), fromModel: true);
            return Add(new OnlineLearner(o with { Hidden = model.Shape.Hidden, Cell = model.Shape.Cell, Layers = model.Shape.Layers }, model.Shape.Inputs, model.Shape.Outputs, online.Window, online.UpdateEvery, model, 1000, online.Mode),
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
            return Tick(l, new ReadOnlySpan<float>(x, shape.Inputs), target is null ? default : new ReadOnlySpan<float>(target, shape.Outputs),
                new Span<float>(prediction, shape.Outputs));
        }
        catch (Exception e)
        {
            return Fail(InternalError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>fastlra_learner_step with the buffers' lengths (target_len 0: predict only): a length that is not the learner's is refused, never read past.</summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_learner_step_n")]
    public static int LearnerStepN(nint learner, float* x, nuint xLength, float* target, nuint targetLength, float* prediction, nuint predictionLength)
    {
        try
        {
            if (Target<OnlineLearner>(learner) is not { } l) return Fail(InvalidArgument, "fastlra_learner_step_n: not a learner handle.");
            if (x is null || prediction is null || (target is null && targetLength != 0))
                return Fail(InvalidArgument, "fastlra_learner_step_n: x, prediction, or target with target_len > 0, is NULL.");
            var shape = l.Shape;
            if (xLength != (nuint)shape.Inputs || (targetLength != 0 && targetLength != (nuint)shape.Outputs) || predictionLength != (nuint)shape.Outputs)
                return Fail(InvalidArgument, $"fastlra_learner_step_n: x_len is {xLength}, target_len {targetLength} and prediction_len {predictionLength}; "
                    + $"the learner takes {shape.Inputs} inputs, {shape.Outputs} targets (or 0: predict only) and gives {shape.Outputs} outputs.");
            return Tick(l, new ReadOnlySpan<float>(x, shape.Inputs), targetLength == 0 ? default : new ReadOnlySpan<float>(target, shape.Outputs),
                new Span<float>(prediction, shape.Outputs));
        }
        catch (Exception e)
        {
            return Fail(InternalError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    // A rejected target is counted and the tick still predicts: FASTLRA_OK. The failures leave static messages: no allocation.
    private static int Tick(OnlineLearner learner, ReadOnlySpan<float> x, ReadOnlySpan<float> target, Span<float> prediction) =>
        learner.Step(x, target, prediction) switch
        {
            TickResult.InputRejected => FailStatic(NonFiniteInput,
                "fastlra_learner_step: the input is not finite (or leads to a state or prediction that is not); nothing was learnt, the state is unchanged and the prediction holds the last one.\0"u8),
            TickResult.Diverged => FailStatic(DivergedCode,
                "fastlra_learner_step: the learner has diverged: every update for 3 windows was rejected as not finite; it predicts with its last good weights.\0"u8),
            _ => Ok,
        };

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

    /// <summary>fastlra_learner_counters of fastlra.h: a size, then fields only ever appended.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct LearnerCounters
    {
        public nuint Size;
        public long Ticks, Updates, SkippedUpdates, DroppedTicks, RejectedTicks, RejectedUpdates;
        public double Rmse, RecentRmse, LastUpdateLoss;
        public int Diverged;
    }

    /// <summary>
    /// Every counter of a learner into the caller's struct, of which only the first counters->size
    /// bytes are written: a program built against an older header, with a smaller struct, gets the
    /// fields it knows, and the struct may grow at its end.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "fastlra_learner_stats2")]
    public static int LearnerStats2(nint learner, void* counters)
    {
        try
        {
            if (Target<OnlineLearner>(learner) is not { } l) return Fail(InvalidArgument, "fastlra_learner_stats2: not a learner handle.");
            if (counters is null) return Fail(InvalidArgument, "fastlra_learner_stats2: counters is NULL.");
            nuint size = *(nuint*)counters;
            if (size < (nuint)sizeof(nuint)) return Fail(InvalidArgument, $"fastlra_learner_stats2: counters->size is {size}; set it to sizeof(fastlra_learner_counters).");
            var value = new LearnerCounters
            {
                Size = size,
                Ticks = l.Ticks,
                Updates = l.Updates,
                SkippedUpdates = l.SkippedUpdates,
                DroppedTicks = l.DroppedTicks,
                RejectedTicks = l.RejectedTicks,
                RejectedUpdates = l.RejectedUpdates,
                Rmse = l.Rmse,
                RecentRmse = l.RecentRmse,
                LastUpdateLoss = l.LastUpdateLoss,
                Diverged = l.Diverged ? 1 : 0,
            };
            Buffer.MemoryCopy(&value, counters, (long)size, Math.Min((long)size, sizeof(LearnerCounters)));
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
    /// A learner's settings from space-separated name=value pairs: the options the table gives the
    /// learner (<see cref="OptionUse.Learner"/>) and <see cref="OnlineOptions"/>'s, by their
    /// command-line names (fastlra.h lists them). NULL or empty takes the defaults. A learner that
    /// starts from a model file takes its network from the file.
    /// </summary>
    private static (TrainingOptions Options, OnlineOptions Online) LearnerOptions(byte* text, TrainingOptions o, bool modeOnly = false, bool fromModel = false)
    {
        var online = new OnlineOptions();
        string all = text is null ? "" : Marshal.PtrToStringUTF8((nint)text)!;
        foreach (string pair in all.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new ArgumentException($"'{Quote(pair)}' is not name=value.");
            string name = pair[..eq], value = pair[(eq + 1)..];
            if (modeOnly && name != "mode") throw new ArgumentException($"a saved learner keeps its options; only mode may be given, not '{Quote(name)}'.");
            if (OnlineOptions.Table.Any(t => t.Name == name))
            {
                online = online.With(name, value);
                continue;
            }
            var option = TrainingOptionTable.Find(name);
            if (option is null || (option.Use & OptionUse.Learner) == 0) throw new ArgumentException($"unknown learner option '{Quote(name)}'.");
            if (fromModel && name is "cell" or "layers") throw new ArgumentException($"the model file sets the network; {name} cannot be given with it.");
            o = option.Parse(RunSpec.Default with { Options = o }, value).Options;
        }
        return (o, online);
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

    /// <summary>A caller's text as a message quotes it: whole when short, else its start and its length.</summary>
    private static string Quote(string text) =>
        text.Length <= MaxQuotedChars ? text : $"{Cut(text, MaxQuotedChars)}... ({text.Length} characters)";

    // The first `length` characters, not splitting a surrogate pair.
    private static string Cut(string text, int length) => text[..(char.IsHighSurrogate(text[length - 1]) ? length - 1 : length)];

    // A failure of a tick path: a static message (a NUL-terminated UTF-8 literal in the image), so failing allocates nothing.
    private static int FailStatic(int code, ReadOnlySpan<byte> message)
    {
        ReleaseLastError();
        t_lastError = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(message));
        t_lastErrorOwned = false;
        return code;
    }

    // The message goes to native memory owned by this thread, capped in length; the previous one is freed.
    private static void SetLastError(string message)
    {
        if (message.Length > MaxMessageChars) message = $"{Cut(message, MaxMessageChars)}... (cut at {MaxMessageChars} of {message.Length} characters)";
        int length = Encoding.UTF8.GetByteCount(message);
        var buffer = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(message, new Span<byte>(buffer, length));
        buffer[length] = 0;
        ReleaseLastError();
        t_lastError = buffer;
        t_lastErrorOwned = true;
    }

    private static void ReleaseLastError()
    {
        if (t_lastErrorOwned) NativeMemory.Free(t_lastError);
        t_lastError = null;
        t_lastErrorOwned = false;
    }
}
