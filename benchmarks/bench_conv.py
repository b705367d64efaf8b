"""Benchmark convolution forward + backward: naive loops vs utils.fast_layers vs PyTorch.

    python benchmarks/bench_conv.py [--repeats 30] [--threads 2] [--out docs/benchmarks.md]

Each case runs one forward and one backward pass (gradients of x, w and b) of
nndl.conv_layers (naive), utils.fast_layers (fast) and, if PyTorch is installed,
torch.nn.functional.conv2d with autograd, all in the same dtype and on the same number of
threads. The three take turns (5 rounds, a few consecutive calls each), so a slow phase
of a shared machine hurts them alike; the figures are medians. Also measured: NumPy's own matrix
product (np.matmul) on the GEMM shape of each case and on a large square one, which bounds
what any im2col implementation on NumPy can reach here.

The thread count must be fixed before NumPy (and its BLAS) is loaded, so this script sets
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS first and imports NumPy after.
This is a script, not a test: nothing here is asserted.
"""
import argparse
import datetime
import os
import platform
import sys
import time

CASES = [  # (name, x shape, w shape, stride, pad)
    ("CS231n", (100, 3, 31, 31), (25, 3, 3, 3), 2, 1),
    ("7x7 on RGB", (50, 3, 32, 32), (32, 3, 7, 7), 1, 3),
    ("3x3, 32->64", (50, 32, 16, 16), (64, 32, 3, 3), 1, 1),
]
DTYPES = ("float64", "float32")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30,
                        help="timed repetitions of fast and torch per case (default 30)")
    parser.add_argument("--naive-repeats", type=int, default=3,
                        help="timed repetitions of the naive version (default 3; 0 skips it)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads (default 2)")
    parser.add_argument("--openblas-coretype", default=None, metavar="NAME",
                        help="set OPENBLAS_CORETYPE (e.g. SkylakeX) before NumPy loads OpenBLAS; "
                             "only for CPUs that support that instruction set")
    add_report_arguments(parser)
    args = parser.parse_args()
    if args.repeats < 1 or args.threads < 1 or args.naive_repeats < 0:
        parser.error("--repeats and --threads must be >= 1, --naive-repeats >= 0")
    return args


def add_report_arguments(parser):
    """--out FILE and --append: where write_report also puts the report."""
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="also write the report (Markdown) to FILE")
    parser.add_argument("--append", action="store_true",
                        help="append the report to FILE instead of overwriting it")


def write_report(args, lines):
    """Write the report's lines to args.out (appended with --append), if it is given."""
    if args.out:
        with open(args.out, "a" if args.append else "w") as out_file:
            out_file.write("\n".join(lines) + "\n\n")


def set_thread_environment(threads, openblas_coretype):
    """Fix the thread count (and optionally the OpenBLAS kernels) before NumPy loads."""
    if "numpy" in sys.modules:
        raise RuntimeError("numpy was imported before the thread count could be set")
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    if openblas_coretype:
        os.environ["OPENBLAS_CORETYPE"] = openblas_coretype


def machine_description():
    """Lines describing the machine and the libraries, for the report."""
    import numpy as np
    cpu_model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu_model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                              if line.startswith("model name")), cpu_model)
    except OSError:
        pass
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    lines = [
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {os.cpu_count()} logical CPUs (nproc), {cpu_model}, "
        f"{platform.system()} {platform.machine()}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, BLAS: "
        f"{blas.get('name', '?')} {blas.get('version', '?')}",
        f"- OpenBLAS configuration: {blas.get('openblas configuration', 'n/a')}",
        f"- OpenBLAS kernels in use: {openblas_corename()}"
        f" (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})",
        f"- threads: OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, "
        f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}",
    ]
    return lines


def openblas_corename():
    """Name of the OpenBLAS kernel set NumPy's BLAS picked at run time, if it can be asked."""
    import ctypes
    import glob
    import numpy as np
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs",
                                  "*openblas*"))
    for path in libs:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                       "openblas_get_corename64_", "openblas_get_corename"):
            function = getattr(library, symbol, None)
            if function is not None:
                function.restype = ctypes.c_char_p
                return function().decode()
    return "unknown"


def conv_flops(x_shape, w_shape, stride, pad):
    """Floating-point operations of one forward + backward pass (2 per multiply-add).

    Forward, dw and dx are each N * F * H_out * W_out * C * HH * WW multiply-adds.
    """
    num_examples, channels, height, width = x_shape
    filters, _, kernel_h, kernel_w = w_shape
    out_h = (height + 2 * pad - kernel_h) // stride + 1
    out_w = (width + 2 * pad - kernel_w) // stride + 1
    gemm = (filters, channels * kernel_h * kernel_w, num_examples * out_h * out_w)
    return 3 * 2 * gemm[0] * gemm[1] * gemm[2], gemm


def make_runners(x_shape, w_shape, stride, pad, dtype, seed=0):
    """Return {name: function running forward + backward once} for naive, fast and torch."""
    import numpy as np
    from nndl.conv_layers import conv_backward_naive, conv_forward_naive
    from utils.fast_layers import conv_backward_fast, conv_forward_fast

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    conv_param = {"stride": stride, "pad": pad}
    out, _ = conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape).astype(dtype)

    def naive():
        _, cache = conv_forward_naive(x, w, b, conv_param)
        return conv_backward_naive(dout, cache)

    def fast():
        _, cache = conv_forward_fast(x, w, b, conv_param)
        return conv_backward_fast(dout, cache)

    runners = {"naive": naive, "fast": fast}
    try:
        import torch
    except ImportError:
        return runners
    x_t = torch.from_numpy(x).requires_grad_()
    w_t = torch.from_numpy(w).requires_grad_()
    b_t = torch.from_numpy(b).requires_grad_()
    dout_t = torch.from_numpy(dout)

    def torch_conv():
        for tensor in (x_t, w_t, b_t):
            tensor.grad = None
        out_t = torch.nn.functional.conv2d(x_t, w_t, b_t, stride=stride, padding=pad)
        out_t.backward(dout_t)
        return x_t.grad, w_t.grad, b_t.grad

    runners["torch"] = torch_conv
    return runners


def time_in_turns(runners, repeats, turns=5, pause=0.1):
    """{name: (median, minimum) seconds} of each runner; repeats is {name: timed runs}.

    The runners take turns: in each of ``turns`` rounds every runner does an untimed
    warm-up run and then its share of the timed runs, so a slow phase of a shared machine
    hurts all of them alike. Running a few calls in a row, after a short pause, keeps one
    library's idle threads (OpenMP and OpenBLAS threads spin for a while after their work)
    from eating into the next library's time.
    """
    import numpy as np
    times = {name: [] for name in runners}
    for turn in range(turns):
        for name, run in runners.items():
            count = repeats[name] // turns + (turn < repeats[name] % turns)
            if count == 0:
                continue
            time.sleep(pause)
            run()
            for _ in range(count):
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    return {name: (float(np.median(values)), float(np.min(values)))
            for name, values in times.items() if values}


def matmul_gflops(shape, dtype, repeats, seed=0):
    """GFLOP/s of np.matmul for an (m, k) @ (k, n) product (median of repeats)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    m, k, n = shape
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    seconds, _ = time_in_turns({"matmul": lambda: a @ b}, {"matmul": repeats}, turns=1)["matmul"]
    return 2 * m * k * n / seconds / 1e9


def geometric_mean(values):
    import numpy as np
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


def main():
    args = parse_args()
    set_thread_environment(args.threads, args.openblas_coretype)
    try:
        import torch
        torch.set_num_threads(args.threads)
        torch_version = torch.__version__
    except ImportError:
        torch_version = None

    load_at_start = os.getloadavg()[0]
    command = "python benchmarks/bench_conv.py " + " ".join(sys.argv[1:])
    title = f"### Conv forward + backward, {args.threads} thread{'s' * (args.threads > 1)}"
    if args.openblas_coretype:
        title += f", OPENBLAS_CORETYPE={args.openblas_coretype}"
    report = [title, "",
              f"- command: `{command.strip()}`"]
    report += machine_description()
    report.append(f"- PyTorch: {torch_version or 'not installed (torch column empty)'}")
    report.append(f"- timed runs: fast and torch {args.repeats}, naive {args.naive_repeats}; "
                  "medians; the runners take turns in 5 rounds")
    report.append("")
    print("\n".join(report), flush=True)

    header = ("| case | dtype | GFLOP | naive ms | fast ms | torch ms | fast/torch "
              "| fast GFLOP/s | matmul GFLOP/s (same GEMM) |")
    rows = [header, "|---" * (header.count("|") - 1) + "|"]
    print("\n".join(rows), flush=True)
    ratios = {dtype: [] for dtype in DTYPES}        # of the medians
    best_ratios = {dtype: [] for dtype in DTYPES}   # of the fastest runs
    for dtype in DTYPES:
        for name, x_shape, w_shape, stride, pad in CASES:
            flops, gemm = conv_flops(x_shape, w_shape, stride, pad)
            runners = make_runners(x_shape, w_shape, stride, pad, dtype)
            repeats = {"naive": args.naive_repeats, "fast": args.repeats, "torch": args.repeats}
            if args.naive_repeats == 0:
                del runners["naive"]
            timings = time_in_turns(runners, repeats)
            medians = {name: median for name, (median, _) in timings.items()}
            gemm_rate = matmul_gflops(gemm, dtype, args.repeats)
            ratio = medians["fast"] / medians["torch"] if "torch" in medians else None
            if ratio is not None:
                ratios[dtype].append(ratio)
                best_ratios[dtype].append(timings["fast"][1] / timings["torch"][1])
            cells = [
                f"{name}: x {'x'.join(map(str, x_shape))}, w {'x'.join(map(str, w_shape))}, "
                f"stride {stride}, pad {pad}",
                dtype, f"{flops / 1e9:.3f}",
                f"{medians['naive'] * 1e3:.0f}" if "naive" in medians else "skipped",
                f"{medians['fast'] * 1e3:.2f}",
                f"{medians['torch'] * 1e3:.2f}" if "torch" in medians else "-",
                f"{ratio:.2f}" if ratio is not None else "-",
                f"{flops / medians['fast'] / 1e9:.1f}",
                f"{gemm_rate:.1f} ({gemm[0]}x{gemm[1]} @ {gemm[1]}x{gemm[2]})",
            ]
            rows.append("| " + " | ".join(cells) + " |")
            print(rows[-1], flush=True)

    peak = {dtype: matmul_gflops((2048, 2048, 2048), dtype, max(3, args.repeats // 5))
            for dtype in DTYPES}
    summary = [""]
    for dtype in DTYPES:
        if ratios[dtype]:
            summary.append(f"- geometric mean fast/torch, {dtype}: "
                           f"{geometric_mean(ratios[dtype]):.2f} (fastest runs: "
                           f"{geometric_mean(best_ratios[dtype]):.2f})")
    all_ratios = ratios["float64"] + ratios["float32"]
    if all_ratios:
        summary.append(f"- geometric mean fast/torch, all six: {geometric_mean(all_ratios):.2f}")
    summary.append("- np.matmul 2048x2048x2048: " + ", ".join(
        f"{dtype} {peak[dtype]:.1f} GFLOP/s" for dtype in DTYPES))
    summary.append("- GFLOP counts the useful multiply-adds of forward, dw and dx (2 FLOP each); "
                   "naive is timed on fewer repetitions.")
    summary.append("- load average (1 min) at start and end: "
                   f"{load_at_start:.2f}, {os.getloadavg()[0]:.2f} (other work on a shared "
                   "machine slows multi-threaded BLAS down a lot)")
    print("\n".join(summary), flush=True)
    write_report(args, report + rows + summary)


if __name__ == "__main__":
    main()
