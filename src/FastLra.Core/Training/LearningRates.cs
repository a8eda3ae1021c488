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
}

/// <summary>The learning rate of each iteration: a function of the options and the iteration alone, so a resumed run takes the same rates.</summary>
internal static class LearningRates
{
    public static readonly string[] Names = ["constant", "cosine", "step"];

    public static bool TryParse(string? name, out LearningRateSchedule schedule)
    {
        int index = Array.IndexOf(Names, name);
        schedule = (LearningRateSchedule)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>
    /// The rate of iteration <paramref name="step"/> (0 for the first): the schedule's, times
    /// (step + 1) / N during a warm-up of N iterations.
    /// </summary>
    public static float At(TrainingOptions o, long step)
    {
        double lr = o.LearningRate;
        double rate = o.Schedule switch
        {
            LearningRateSchedule.Cosine => o.MinLearningRate + (lr - o.MinLearningRate) * (1 + Math.Cos(Math.PI * Math.Min(step, o.MaxIterations) / o.MaxIterations)) / 2,
            LearningRateSchedule.Step => lr * Math.Pow(o.LearningRateFactor, step / o.LearningRateStepEvery),
            _ => lr,
        };
        if (step < o.Warmup) rate *= (step + 1) / (double)o.Warmup;
        return (float)rate;
    }
}
