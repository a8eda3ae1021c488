namespace FastLra.Tasks;

/// <summary>
/// MT19937 with the draw semantics of numpy's legacy <c>RandomState</c>, so task data match the
/// reference bit for bit: <c>init_genrand</c> seeding, masked-rejection <c>randint</c>, the 53-bit
/// <c>uniform()</c>, and the polar-method <c>standard_normal</c> with its cached second value.
/// </summary>
public sealed class RandomState
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

    private void Twist()
    {
        const uint upper = 0x80000000u, lower = 0x7fffffffu, matrixA = 0x9908b0dfu;
        for (int i = 0; i < N; i++)
        {
            uint y = (_mt[i] & upper) | (_mt[(i + 1) % N] & lower);
            _mt[i] = _mt[(i + M) % N] ^ (y >> 1) ^ ((y & 1u) != 0 ? matrixA : 0u);
        }
        _index = 0;
    }
}
