namespace FastLra.Training;

/// <summary>How the learning rate changes over a run.</summary>
public enum LearningRateSchedule
{
    /// <summary>The rate given, throughout.</summary>
    Constant,

    /// <summary>From the rate down to <see cref="TrainingOptions.MinLearningRate"/> along half a cosine over the iteration budget (PyTorch's CosineAnnealingLR, T_max = --max-iter).</summary>
    Cosine,

    /// <summary>Multiplied by <see cref="TrainingOptions.LearningRateFactor"/> every <see cref="TrainingOptions.LearningRateStepEvery"/> iterations (PyTorch's StepLR).</summary>
    Step,

    /// <summary>
    /// Multiplied by <see cref="TrainingOptions.LearningRateFactor"/>, never below
    /// <see cref="TrainingOptions.MinLearningRate"/>, at the first check after
    /// <see cref="TrainingOptions.LearningRatePatience"/> checks in a row without a new best
    /// validation loss (PyTorch's ReduceLROnPlateau, mode min, relative threshold
    /// <see cref="TrainingOptions.LearningRateThreshold"/>, no cooldown).
    /// </summary>
    Plateau,
}

/// <summary>
/// The learning rate of each iteration: a function of the options and the iteration alone, so a
/// resumed run takes the same rates; the plateau schedule's rate is also a function of the checks
/// so far, kept in a <see cref="Plateau"/> that checkpoints carry.
/// </summary>
internal static class LearningRates
{
    public static readonly string[] Names = ["constant", "cosine", "step", "plateau"];

    public static bool TryParse(string? name, out LearningRateSchedule schedule)
    {
        int index = Array.IndexOf(Names, name);
        schedule = (LearningRateSchedule)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>The rate of iteration <paramref name="step"/> of a schedule that needs no checks (the plateau's rate is then --lr).</summary>
    public static float At(TrainingOptions o, long step) => At(o, step, o.LearningRate);

    /// <summary>
    /// The rate of iteration <paramref name="step"/> (0 for the first): the schedule's (for the
    /// plateau, <paramref name="plateauRate"/>, its <see cref="Plateau.Rate"/>), times
    /// (step + 1) / N during a warm-up of N iterations.
    /// </summary>
    public static float At(TrainingOptions o, long step, double plateauRate)
    {
        double lr = o.LearningRate;
        double rate = o.Schedule switch
        {
            LearningRateSchedule.Cosine => o.MinLearningRate + (lr - o.MinLearningRate) * (1 + Math.Cos(Math.PI * Math.Min(step, o.MaxIterations) / o.MaxIterations)) / 2,
            LearningRateSchedule.Step => lr * Math.Pow(o.LearningRateFactor, step / o.LearningRateStepEvery),
            LearningRateSchedule.Plateau => plateauRate,
            _ => lr,
        };
        if (step < o.Warmup) rate *= (step + 1) / (double)o.Warmup;
        return (float)rate;
    }
}

/// <summary>
/// The plateau schedule's state, as PyTorch's ReduceLROnPlateau keeps it: the current rate (a
/// double, as PyTorch's param_group lr), the best validation loss so far, and the checks in a row
/// without a new best. A checkpoint carries all three, so a resumed run reduces where an
/// uninterrupted one does.
/// </summary>
internal sealed class Plateau
{
    /// <summary>PyTorch's eps: a reduction smaller than this is not made.</summary>
    public const double Eps = 1e-8;

    /// <summary>The rate the iterations take (before any warm-up factor).</summary>
    public double Rate { get; set; }

    /// <summary>The lowest validation loss that counted as a new best (+∞ before the first check).</summary>
    public double Best { get; set; } = double.PositiveInfinity;

    /// <summary>Checks in a row without a new best since the last new best or reduction.</summary>
    public int BadChecks { get; set; }

    /// <summary>
    /// One check's validation loss, as ReduceLROnPlateau.step(loss) in mode min with
    /// threshold_mode rel and no cooldown: a loss below best × (1 - threshold) is the new best;
    /// otherwise a bad check, and the bad check after --lr-patience of them multiplies the rate by
    /// --lr-factor, not below --lr-min (nor by less than <see cref="Eps"/>), and starts the count
    /// again. A NaN loss is a bad check.
    /// </summary>
    public void Check(TrainingOptions o, double loss)
    {
        if (loss < Best * (1 - o.LearningRateThreshold))
        {
            Best = loss;
            BadChecks = 0;
            return;
        }
        if (++BadChecks <= o.LearningRatePatience) return;
        double reduced = Math.Max(Rate * o.LearningRateFactor, o.MinLearningRate);
        if (Rate - reduced > Eps) Rate = reduced;
        BadChecks = 0;
    }
}
