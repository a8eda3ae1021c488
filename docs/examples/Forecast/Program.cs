// Train a tanh RNN on sequences held in arrays, then run it in a control loop one tick at a time.
// The plant: a damped oscillator driven by an input u; the network learns to predict its output
// y one tick ahead from (u, y), with a loss at every step after a washout of 10.
using System.Globalization;
using FastLra;
using FastLra.Data;
using FastLra.Model;
using FastLra.Training;

const int steps = 50, washout = 10, inputs = 2, outputs = 1;
var random = new Random(7);

// N sequences of T steps: x is N x T x I, the targets N x (T - w) x O (steps w .. T-1), row-major.
(float[] X, float[] Y) Simulate(int sequences)
{
    var x = new float[sequences * steps * inputs];
    var y = new float[sequences * (steps - washout) * outputs];
    for (int n = 0; n < sequences; n++)
    {
        double position = 0, velocity = 0, u = 0;
        for (int t = 0; t < steps; t++)
        {
            if (t % 8 == 0) u = random.NextDouble() * 2 - 1;
            x[(n * steps + t) * inputs] = (float)u;
            x[(n * steps + t) * inputs + 1] = (float)position;
            velocity += 0.2 * (u - position) - 0.1 * velocity;
            position += 0.2 * velocity;
            if (t >= washout) y[n * (steps - washout) + t - washout] = (float)position; // the next tick's output
        }
    }
    return (x, y);
}

var layout = new SequenceLayout(steps, inputs, outputs, washout, GlobalLossKind.MeanSquaredError);
var (trainX, trainY) = Simulate(400);
var (validX, validY) = Simulate(100);
using var train = new SequenceDataSet(layout, trainX, trainY);
using var valid = new SequenceDataSet(layout, validX, validY);

var options = new TrainingOptions { Hidden = 32, Batch = 16, Optimizer = OptimizerKind.Adam, LearningRate = 0.003f, MaxIterations = 2000, CheckEvery = 100 };
var fit = Trainer.Fit(options, train, valid);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"trained {fit.Result.Iterations} iterations; best check at {fit.Result.BestIteration}: validation RMSE {fit.Result.Valid.Rmse:F4}, R² {fit.Result.Valid.R2:F4}"));

// The control loop: one RnnState per stream, inputs and outputs in original units, no allocation per tick.
var state = new RnnState(fit.Model);
var tick = new float[inputs];
var prediction = new float[outputs];
double squares = 0, persistence = 0;
int counted = 0;
var (loopX, loopY) = Simulate(1);
for (int t = 0; t < steps; t++)
{
    loopX.AsSpan(t * inputs, inputs).CopyTo(tick);
    state.Step(tick, prediction);
    if (t < washout) continue;
    double actual = loopY[t - washout];
    squares += (prediction[0] - actual) * (prediction[0] - actual);
    persistence += (tick[1] - actual) * (tick[1] - actual);
    counted++;
}
double rmse = Math.Sqrt(squares / counted), baseline = Math.Sqrt(persistence / counted);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"streamed {steps} ticks: RMSE {rmse:F4} against persistence {baseline:F4}"));
return rmse < baseline ? 0 : 1;
