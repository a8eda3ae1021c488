using FastLra.Kernels;
using System.Runtime.CompilerServices;
using FastLra.Model;

namespace FastLra.Training;

/// <summary>
/// Every buffer one training run needs, sized once from (T, B, I, H, O) and the steps that carry
/// an output, and carved as named spans out of one block: parameters, gradients, optimiser state,
/// the batch, the states of the unrolled pass, and a scratch region the gradient algorithm carves
/// for itself (LRA keeps the pre-activations there; BPTT needs only the states).
/// Shapes: x T x B x I; y, o, gradO R x B x O (steps w .. T-1, R = T - w); z T x B x S (rows of H
/// padded to the stride S, see <see cref="PaddedParameters"/>).
/// </summary>
internal sealed class Workspace
{
    /// <summary>
    /// A workspace for <paramref name="batch"/> sequences of <paramref name="layout"/>, whose widths
    /// must be the network's, with <paramref name="optimizerBuffers"/> parameter-sized optimiser
    /// buffers and <paramref name="scratchFloats"/> for the gradient algorithm to carve; its dot
    /// products sum in the order <paramref name="summation"/> names.
    /// </summary>
    public Workspace(RnnShape shape, SequenceLayout layout, int batch, int optimizerBuffers, long scratchFloats, Summation summation = Summation.Fixed)
    {
        shape.Validate();
        string? problem = layout.Validate();
        if (problem is not null) throw new ArgumentException(problem);
        if (batch <= 0) throw new ArgumentException($"B must be positive, got {batch}.");
        if (layout.Inputs != shape.Inputs || layout.Outputs != shape.Outputs)
            throw new ArgumentException($"The sequences have I={layout.Inputs}, O={layout.Outputs}; the network I={shape.Inputs}, O={shape.Outputs}.");
        Shape = shape;
        Layout = layout;
        Steps = layout.Steps;
        Batch = batch;
        Stride = PaddedParameters.StrideOf(shape.Hidden);
        var counter = Carver.Counting();
        Carve(ref counter, shape, layout, batch, optimizerBuffers, scratchFloats);
        if (counter.Used > Array.MaxLength) throw new ArgumentException("The workspace for these sizes is too large.");
        var carver = new Carver(AlignedBlock((int)counter.Used));
        var s = Carve(ref carver, shape, layout, batch, optimizerBuffers, scratchFloats);
        Parameters = new ParameterSet(shape, s.Parameters);
        Gradients = new ParameterSet(shape, s.Gradients);
        PaddedWeights = new PaddedParameters(Parameters, s.PaddedWeights, summation);
        PaddedGradients = new PaddedParameters(Gradients, s.PaddedGradients, summation);
        OptimizerState = s.OptimizerState;
        Sequences = new SequenceBatch(layout, batch, s.X, s.Y);
        (_z, _o, _gradO, _h0, Scratch) = (s.Z, s.O, s.GradO, s.H0, s.Scratch);
    }

    /// <summary>
    /// Floats of the workspace a run of <paramref name="o"/> needs for <paramref name="batch"/>
    /// sequences of <paramref name="layout"/> at a time: the count of the very carving its
    /// constructor and its algorithm's do (one table of sizes, priced before anything is allocated).
    /// </summary>
    public static long Floats(TrainingOptions o, RnnShape shape, SequenceLayout layout, int batch)
    {
        var counter = Carver.Counting();
        Carve(ref counter, shape, layout, batch, Optimizer.StateBuffers(o.Optimizer), ScratchLength(o, shape, layout, batch));
        return counter.Used;
    }

    /// <summary>The scratch floats the algorithm of <paramref name="o"/> carves for itself, counted by its own carving.</summary>
    public static long ScratchLength(TrainingOptions o, RnnShape shape, SequenceLayout layout, int batch) =>
        o.Algorithm == AlgorithmKind.Lra ? Lra.ScratchLength(shape, layout.Steps, batch, o.Semantics) : Bptt.ScratchLength(shape, layout.Steps, batch);

    /// <summary>The workspace's segments, in order: parameters, gradients, their padded copies, the optimiser state, x, y, z, o, dE/do, h0, the scratch.</summary>
    private readonly record struct Segments(Memory<float> Parameters, Memory<float> Gradients, Memory<float> PaddedWeights, Memory<float> PaddedGradients,
        Memory<float> OptimizerState, Memory<float> X, Memory<float> Y, Memory<float> Z, Memory<float> O, Memory<float> GradO, Memory<float> H0, Memory<float> Scratch);

    private static Segments Carve(ref Carver c, RnnShape shape, SequenceLayout layout, int batch, int optimizerBuffers, long scratchFloats)
    {
        long p = shape.LongCount, padded = PaddedParameters.Length(shape), stride = PaddedParameters.StrideOf(shape.Hidden);
        long outputs = (long)layout.OutputSteps * batch * shape.Outputs, states = (long)layout.Steps * batch * stride;
        return new(c.Take(p), c.Take(p), c.Take(padded), c.Take(padded), c.Take(optimizerBuffers * p), c.Take((long)layout.Steps * batch * shape.Inputs),
            c.Take(outputs), c.Take(states), c.Take(outputs), c.Take(outputs), c.Take(shape.StateBlocks * batch * stride), c.Take(scratchFloats));
    }

    private readonly Memory<float> _z, _o, _gradO, _h0;

    /// <summary>
    /// The batch's initial state in the padded layout: <see cref="RnnShape.StateBlocks"/> blocks of
    /// B x S (each layer's h, then for LSTM its c; zero padding), from the batch's B x StateLength
    /// (each sequence's blocks of H in that order), or empty when it starts from zero; throws unless
    /// a given state has that size.
    /// </summary>
    public Memory<float> InitialState(SequenceBatch batch)
    {
        var h0 = batch.InitialState.Span;
        if (h0.IsEmpty) return default;
        int h = Shape.Hidden, blocks = Shape.StateBlocks, length = Shape.StateLength;
        if (h0.Length != Batch * length) ThrowHelper.Argument($"The batch's initial state has {h0.Length} floats; B x {length} is {Batch * length}.");
        var padded = _h0.Span; // its padding is never written, so stays zero
        for (int b = 0; b < Batch; b++)
            for (int k = 0; k < blocks; k++) h0.Slice(b * length + k * h, h).CopyTo(padded.Slice((k * Batch + b) * Stride, h));
        return _h0;
    }

    /// <summary>Throws unless <paramref name="batch"/> has this workspace's layout and size.</summary>
    public void Check(SequenceBatch batch)
    {
        if (batch.Layout != Layout || batch.Batch != Batch) ThrowBatch(batch);
    }

    private void ThrowBatch(SequenceBatch batch) =>
        throw new ArgumentException($"The batch ({batch.Batch} sequences of {batch.Layout}) does not fit this workspace ({Batch} of {Layout}).");

    /// <summary>
    /// A block of <paramref name="length"/> floats starting on a 64-byte boundary (the carved segments
    /// are multiples of 16 floats, so each starts on one too): a 512-bit load or store of a buffer
    /// then never straddles two cache lines. Pinned, so the garbage collector cannot move it off.
    /// </summary>
    private static Memory<float> AlignedBlock(int length)
    {
        var block = GC.AllocateArray<float>(length + 15, pinned: true);
        int offset;
        unsafe
        {
            offset = (int)((64 - (nuint)Unsafe.AsPointer(ref block[0]) % 64) % 64) / sizeof(float);
        }
        return block.AsMemory(offset, length);
    }

    public RnnShape Shape { get; }

    /// <summary>The sequences' layout: T, I, O, the washout w and the loss.</summary>
    public SequenceLayout Layout { get; }

    /// <summary>T.</summary>
    public int Steps { get; }

    /// <summary>B.</summary>
    public int Batch { get; }

    /// <summary>S, the floats from one row of hidden values to the next in the trainers' buffers.</summary>
    public int Stride { get; }

    public ParameterSet Parameters { get; }
    public ParameterSet Gradients { get; }

    /// <summary>The parameters' hidden-layer tensors in the trainers' padded layout, loaded by a trainer from <see cref="Parameters"/>.</summary>
    public PaddedParameters PaddedWeights { get; }

    /// <summary>The gradient's hidden-layer tensors in the padded layout, stored by a trainer into <see cref="Gradients"/>.</summary>
    public PaddedParameters PaddedGradients { get; }

    public Memory<float> OptimizerState { get; }

    /// <summary>The gradient algorithm's own buffers, carved by it once.</summary>
    public Memory<float> Scratch { get; }

    /// <summary>
    /// A carver over <see cref="Scratch"/>, zeroed first: an algorithm keeps padded rows there, whose
    /// padding must start zero whatever used the scratch before.
    /// </summary>
    public Carver CarveScratch()
    {
        Scratch.Span.Clear();
        return new Carver(Scratch);
    }

    /// <summary>The batch buffers a source fills and the trainer passes to its gradient algorithm.</summary>
    public SequenceBatch Sequences { get; }

    /// <summary>Batch inputs, T x B x I (<see cref="Sequences"/>' X).</summary>
    public Span<float> X => Sequences.X;

    /// <summary>Batch targets, R x B x O (<see cref="Sequences"/>' Y).</summary>
    public Span<float> Y => Sequences.Y;

    /// <summary>States, T x B x S: rows of H values, each padded with zeros to <see cref="Stride"/>.</summary>
    public Span<float> Z => _z.Span;

    /// <summary>Outputs of steps w .. T-1, R x B x O.</summary>
    public Span<float> O => _o.Span;

    /// <summary>dE/do, R x B x O.</summary>
    public Span<float> GradO => _gradO.Span;
}

/// <summary>
/// Hands out consecutive 64-byte-aligned segments of one buffer; or, made by <see cref="Counting"/>,
/// only counts what it would hand out, so the code that carves a buffer also sizes it.
/// </summary>
internal struct Carver(Memory<float> block)
{
    private bool _counting;

    /// <summary>A carver that hands out empty segments and counts their floats, alignment included.</summary>
    public static Carver Counting() => new(default) { _counting = true };

    /// <summary>Floats handed out so far, alignment included.</summary>
    public long Used { get; private set; }

    public Memory<float> Take(long length)
    {
        var segment = _counting ? default : block.Slice((int)Used, (int)length);
        Used += (length + 15) & ~15L;
        return segment;
    }
}
