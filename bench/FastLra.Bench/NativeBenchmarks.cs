using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using FastLra.Model;

namespace FastLra.Bench;

/// <summary>
/// The C ABI's call overhead: one step (B = 1, H = 100, I = 6, O = 4) through libfastlra.so's
/// fastlra_step, called through an unmanaged function pointer as C would, against the same step
/// in managed code. Needs the library: tests/native/run.sh (or dotnet publish src/FastLra.Native)
/// writes artifacts/native/libfastlra.so; FASTLRA_NATIVE_LIB overrides the path.
/// </summary>
[MemoryDiagnoser]
public unsafe class NativeCallBenchmarks
{
    private readonly float[] _x = new float[6], _y = new float[4];
    private RnnState _managed = null!;
    private nint _library, _model, _state;
    private delegate* unmanaged<nint, float*, float*, int> _step;

    [GlobalSetup]
    public void Setup()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "FastLra.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("FastLra.sln not found");
        string library = Environment.GetEnvironmentVariable("FASTLRA_NATIVE_LIB") ?? Path.Combine(root, "artifacts", "native", "libfastlra.so");
        if (!File.Exists(library)) throw new FileNotFoundException($"{library} is missing: run tests/native/run.sh first.");
        var p = new ParameterSet(new RnnShape(6, 100, 4));
        Initialization.Orthogonal(p, 1);
        string model = Path.Combine(Path.GetTempPath(), "fastlra-native-bench.safetensors");
        ModelFile.Save(model, p, null, null);
        _managed = new RnnState(new RnnModel(p));
        _library = NativeLibrary.Load(library);
        var load = (delegate* unmanaged<byte*, nint>)NativeLibrary.GetExport(_library, "fastlra_model_load");
        var create = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(_library, "fastlra_state_create");
        _step = (delegate* unmanaged<nint, float*, float*, int>)NativeLibrary.GetExport(_library, "fastlra_step");
        var path = System.Text.Encoding.UTF8.GetBytes(model + "\0");
        fixed (byte* bytes = path) _model = load(bytes);
        _state = create(_model);
        if (_model == 0 || _state == 0) throw new InvalidOperationException("libfastlra.so could not load the model.");
        _x[3] = 1f;
    }

    [Benchmark(Baseline = true)]
    public void ManagedStep() => _managed.Step(_x, _y);

    [Benchmark]
    public int NativeStep()
    {
        fixed (float* x = _x, y = _y) return _step(_state, x, y);
    }
}
