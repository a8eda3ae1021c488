using System.Runtime.ExceptionServices;

namespace FastLra.Training;

/// <summary>A job that threads share by index: worker 0 is the caller, 1 .. threads - 1 the pool's.</summary>
internal interface IWorkerJob
{
    /// <summary>Runs this worker's share; the job hands out its own work (for example tiles by an atomic counter).</summary>
    void Run(int worker);
}

/// <summary>
/// The process's worker threads for parallel validation: started when first needed (up to one per
/// core less the caller's), then reused, so a job allocates nothing after the first. One job runs
/// at a time; a caller that finds the pool busy (two trainers validating at once) runs its job
/// alone, which gives the same result, since jobs hand out work whose results do not depend on the
/// thread that does it.
/// </summary>
internal static class SharedWorkers
{
    private static readonly Lock Gate = new();
    private static readonly List<Worker> Pool = [];
    // The caller's wait for the workers: a kernel event and a count, because a slim event (and so
    // CountdownEvent) creates its lock at its first wait that blocks, which is an allocation on the
    // caller at a check long after warm-up whenever the workers first finish last.
    private static readonly ManualResetEvent AllDone = new(false);
    private static int _pending;
    private static IWorkerJob? _job;
    private static ExceptionDispatchInfo? _failure;

    /// <summary>Runs <paramref name="job"/> on up to <paramref name="threads"/> threads (the caller included) and waits for all.</summary>
    public static void Run(IWorkerJob job, int threads)
    {
        threads = Math.Min(threads, Environment.ProcessorCount);
        if (threads <= 1 || !Gate.TryEnter())
        {
            job.Run(0);
            return;
        }
        try
        {
            while (Pool.Count < threads - 1) Pool.Add(new Worker(Pool.Count + 1));
            _job = job;
            _failure = null;
            _pending = threads - 1;
            AllDone.Reset();
            for (int i = 0; i < threads - 1; i++) Pool[i].Start.Set();
            job.Run(0);
            AllDone.WaitOne();
            _job = null;
            _failure?.Throw();
        }
        finally
        {
            Gate.Exit();
        }
    }

#pragma warning disable CA1001 // A worker lives as long as the process: its event is never disposed.
    private sealed class Worker
#pragma warning restore CA1001
    {
        public readonly ManualResetEventSlim Start = new();

        public Worker(int index)
        {
            var thread = new Thread(() => Loop(index)) { IsBackground = true, Name = $"fastlra worker {index}" };
            thread.Start();
        }

        private void Loop(int index)
        {
            while (true)
            {
                Start.Wait();
                Start.Reset();
                try
                {
                    _job!.Run(index);
                }
#pragma warning disable CA1031 // Rethrown on the caller's thread by Run.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    _failure = ExceptionDispatchInfo.Capture(e);
                }
                if (Interlocked.Decrement(ref _pending) == 0) AllDone.Set();
            }
        }
    }
}
