using System.Numerics;

namespace FastLra;

/// <summary>
/// MT19937 with the draw semantics of numpy's legacy <c>RandomState</c>, so task data match the
/// reference bit for bit: <c>init_genrand</c> seeding, masked-rejection <c>randint</c>, the 53-bit
/// <c>uniform()</c>, and the polar-method <c>standard_normal</c> with its cached second value.
/// </summary>
internal sealed class RandomState
{
    private const int N = 624;
    private const int M = 397;
    private readonly uint[] _mt = new uint[N];
    private int _index;
    private bool _hasGauss;
    private double _gauss;

    public RandomState(uint seed) => Seed(seed);

    /// <summary>numpy's <c>init_genrand</c>.</summary>
    public void Seed(uint seed)
    {
        _mt[0] = seed;
        for (int i = 1; i < N; i++)
            _mt[i] = 1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i;
        _index = N;
        _hasGauss = false;
        _gauss = 0;
    }

    /// <summary>The next raw 32-bit output.</summary>
    public uint NextUInt32()
    {
        if (_index >= N) Twist();
        uint y = _mt[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary>numpy <c>randint(n)</c>: uniform in [0, n); <c>randint(1)</c> consumes nothing.</summary>
    public int RandInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "randint needs n >= 1.");
        uint max = (uint)(n - 1);
        if (max == 0) return 0;
        uint mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint value;
        do value = NextUInt32() & mask;
        while (value > max);
        return (int)value;
    }

    /// <summary>numpy <c>uniform()</c> / <c>random_sample()</c>: 53-bit double in [0, 1).</summary>
    public double Uniform()
    {
        uint a = NextUInt32() >> 5, b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    /// <summary>numpy legacy <c>standard_normal()</c> (Marsaglia polar method, second value cached).</summary>
    public double StandardNormal()
    {
        if (_hasGauss)
        {
            _hasGauss = false;
            return _gauss;
        }
        double x1, x2, r2;
        do
        {
            x1 = 2.0 * Uniform() - 1.0;
            x2 = 2.0 * Uniform() - 1.0;
            r2 = x1 * x1 + x2 * x2;
        }
        while (r2 >= 1.0 || r2 == 0.0);
        double f = Math.Sqrt(-2.0 * Math.Log(r2) / r2);
        _gauss = f * x1;
        _hasGauss = true;
        return f * x2;
    }

    /// <summary>The full generator state (624 words, index, cached normal), for checkpoints.</summary>
    public void GetState(Span<uint> key, out int index, out bool hasGauss, out double gauss)
    {
        _mt.CopyTo(key);
        index = _index;
        hasGauss = _hasGauss;
        gauss = _gauss;
    }

    /// <summary>Restores a state taken by <see cref="GetState"/>.</summary>
    public void SetState(ReadOnlySpan<uint> key, int index, bool hasGauss, double gauss)
    {
        if (key.Length != N || index < 0 || index > N) throw new ArgumentException("Not an MT19937 state.");
        key.CopyTo(_mt);
        _index = index;
        _hasGauss = hasGauss;
        _gauss = gauss;
    }

    /// <summary>Words <see cref="SaveState"/> writes: the key, the index, the cached-normal flag and its value's two halves.</summary>
    public const int StateLength = N + 4;

    /// <summary>The whole state as <see cref="StateLength"/> words, for a checkpoint.</summary>
    public void SaveState(Span<uint> state)
    {
        if (state.Length != StateLength) throw new ArgumentException($"A RandomState's state is {StateLength} words.");
        _mt.CopyTo(state);
        state[N] = (uint)_index;
        state[N + 1] = _hasGauss ? 1u : 0u;
        ulong bits = BitConverter.DoubleToUInt64Bits(_gauss);
        state[N + 2] = (uint)bits;
        state[N + 3] = (uint)(bits >> 32);
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    public void RestoreState(ReadOnlySpan<uint> state)
    {
        if (state.Length != StateLength || state[N] > N || state[N + 1] > 1) throw new ArgumentException("Not an MT19937 state.");
        SetState(state[..N], (int)state[N], state[N + 1] == 1, BitConverter.UInt64BitsToDouble(state[N + 2] | ((ulong)state[N + 3] << 32)));
    }

    private void Twist()
    {
        Twist(_mt);
        _index = 0;
    }

    private const uint Upper = 0x80000000u, Lower = 0x7fffffffu, MatrixA = 0x9908b0dfu;

    /// <summary>
    /// The next N words of the state, in place: word i becomes word i + M (mod N) ^ twist(word i,
    /// word i + 1). Words 0 .. N - M - 1 read words not yet renewed, the later ones words renewed at
    /// least N - M = 227 places before, so vectors of up to 227 words see what the scalar loop sees.
    /// </summary>
    internal static void Twist(Span<uint> mt)
    {
        int i = TwistRange(mt, 0, N - M, M);
        for (; i < N - M; i++) mt[i] = mt[i + M] ^ Mix(mt[i], mt[i + 1]);
        i = TwistRange(mt, N - M, N - 1, M - N);
        for (; i < N - 1; i++) mt[i] = mt[i + M - N] ^ Mix(mt[i], mt[i + 1]);
        mt[N - 1] = mt[M - 1] ^ Mix(mt[N - 1], mt[0]);
    }

    // Words start .. end - 1 in whole vectors, word i from word i + offset; returns the first word not done.
    private static int TwistRange(Span<uint> mt, int start, int end, int offset)
    {
        int width = Vector<uint>.Count, i = start;
        if (!Vector.IsHardwareAccelerated) return i;
        var upper = new Vector<uint>(Upper);
        var lower = new Vector<uint>(Lower);
        var one = Vector<uint>.One;
        var matrixA = new Vector<uint>(MatrixA);
        for (; i + width <= end; i += width)
        {
            var y = (new Vector<uint>(mt[i..]) & upper) | (new Vector<uint>(mt[(i + 1)..]) & lower);
            var odd = Vector<uint>.Zero - (y & one);
            var next = new Vector<uint>(mt[(i + offset)..]) ^ (y >> 1) ^ (odd & matrixA);
            next.CopyTo(mt[i..]);
        }
        return i;
    }

    private static uint Mix(uint word, uint next)
    {
        uint y = (word & Upper) | (next & Lower);
        return (y >> 1) ^ ((y & 1u) != 0 ? MatrixA : 0u);
    }

    /// <summary>The plain loop of the reference implementation, which <see cref="Twist(Span{uint})"/> is tested against.</summary>
    internal static void TwistReference(Span<uint> mt)
    {
        for (int i = 0; i < N; i++)
        {
            uint y = (mt[i] & Upper) | (mt[(i + 1) % N] & Lower);
            mt[i] = mt[(i + M) % N] ^ (y >> 1) ^ ((y & 1u) != 0 ? MatrixA : 0u);
        }
    }
}
