"""Where the time of utils.fast_layers' convolution goes, and what no copy-saving can remove.

    python benchmarks/conv_breakdown.py [--repeats 20] [--threads 2] [--out FILE --append]

Runs conv_forward_fast + conv_backward_fast as bench_conv.py does (same cases, dtypes and
threads, taking turns with PyTorch) and times, inside those very calls, each pass
over the data that the worker threads make (the methods of fast_layers' _ConvGeometry):

- essential: the passes any im2col implementation makes: im2col in the forward pass, the
  three matrix products (forward, dw, dx: the rest of the workers' time) and the col2im
  additions;
- layout: the copies between the (N, C, H, W) arrays of the API and the channels-first,
  zero-padded grids the products work on (input in, output out, dout in, dx out);
- the rebuild of cols in the backward pass (fast_layers rebuilds it instead of caching it);
- overhead: the rest of the wall time (Python, starting and joining the workers, waiting
  for the slower worker).

A pass's time is the average over the workers of their time in it (the workers run at once),
so the parts add up to the wall time. If the essential passes alone take longer than
PyTorch's whole forward + backward, saving copies cannot make this implementation as fast
as PyTorch: that takes faster matrix products or fused passes.
This is a script, not a test: nothing here is asserted.
"""
import argparse
import os
import sys
import threading
import time

from bench_conv import (CASES, DTYPES, add_report_arguments, geometric_mean,
                        machine_description, make_runners, set_thread_environment,
                        time_in_turns, write_report)

LAYOUT_PASSES = ("to_phases", "grid_to_output", "output_to_grid", "from_phases")
TIMED_PASSES = ("im2col", "col2im") + LAYOUT_PASSES
PARTS = ("im2col", "products", "col2im", "layout", "cols rebuild", "overhead")
ESSENTIAL = ("im2col", "products", "col2im")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20,
                        help="timed forward + backward passes of each library (default 20)")
    parser.add_argument("--threads", type=int, default=2,
                        help="BLAS threads, fast_layers' workers and PyTorch threads (default 2)")
    add_report_arguments(parser)
    args = parser.parse_args()
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be >= 1")
    return args


class PassClock:
    """Times the passes of utils.fast_layers' convolution from inside its calls.

    Wraps the pass methods of _ConvGeometry and the chunk tasks that _run_chunks hands to
    the workers; ``stage`` says whether a forward or a backward call is running.
    """

    def __init__(self, fast_layers):
        self.fast_layers = fast_layers
        self.stage = None
        self.seconds = {}       # (stage, part) -> seconds summed over the workers
        self.workers = 1
        self._lock = threading.Lock()
        geometry = fast_layers._ConvGeometry
        for name in TIMED_PASSES:
            setattr(geometry, name, self._timed(getattr(geometry, name), name))
        run_chunks = fast_layers._run_chunks

        def timed_run_chunks(task, chunks, workers):
            self.workers = max(1, min(workers, len(chunks)))
            return run_chunks(self._timed(task, "task"), chunks, workers)
        fast_layers._run_chunks = timed_run_chunks

    def _timed(self, function, name):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - start)
        return timed

    def add(self, name, seconds):
        with self._lock:
            key = (self.stage, name)
            self.seconds[key] = self.seconds.get(key, 0.0) + seconds

    def forward_backward(self, x, w, b, conv_param, dout):
        """One timed forward + backward pass: {part: seconds}, the parts of PARTS."""
        self.seconds = {}
        wall = {}
        for stage in ("forward", "backward"):
            self.stage = stage
            start = time.perf_counter()
            if stage == "forward":
                _, cache = self.fast_layers.conv_forward_fast(x, w, b, conv_param)
            else:
                self.fast_layers.conv_backward_fast(dout, cache)
            wall[stage] = time.perf_counter() - start
        per_worker = {key: value / self.workers for key, value in self.seconds.items()}
        parts = dict.fromkeys(PARTS, 0.0)
        for stage in ("forward", "backward"):
            passes = {name: per_worker.get((stage, name), 0.0) for name in TIMED_PASSES}
            parts["im2col" if stage == "forward" else "cols rebuild"] += passes["im2col"]
            parts["col2im"] += passes["col2im"]
            parts["layout"] += sum(passes[name] for name in LAYOUT_PASSES)
            task = per_worker.get((stage, "task"), 0.0)
            parts["products"] += task - sum(passes.values())
            parts["overhead"] += wall[stage] - task
        return parts


def main():
    args = parse_args()
    set_thread_environment(args.threads, None)
    import numpy as np
    try:
        import torch
    except ImportError:
        sys.exit("conv_breakdown.py compares with PyTorch: pip install torch (CPU) first")
    torch.set_num_threads(args.threads)
    from utils import fast_layers
    clock = PassClock(fast_layers)

    command = "python benchmarks/conv_breakdown.py " + " ".join(sys.argv[1:])
    report = [f"### Where fast conv's time goes, {args.threads} thread"
              f"{'s' * (args.threads > 1)}", "", f"- command: `{command.strip()}`"]
    report += machine_description()
    report.append(f"- PyTorch: {torch.__version__}; medians of {args.repeats} runs, fast and "
                  "torch taking turns in 5 rounds; parts in ms (medians of the same fast runs)")
    report.append("")
    header = ("| case | dtype | torch ms | fast ms | " + " | ".join(PARTS)
              + " | essential ms | fast/torch | essential/torch |")
    rows = [header, "|---" * (header.count("|") - 1) + "|"]
    print("\n".join(report + rows), flush=True)

    ratios = {key: {dtype: [] for dtype in DTYPES} for key in ("fast", "essential")}
    for dtype in DTYPES:
        for name, x_shape, w_shape, stride, pad in CASES:
            rng = np.random.default_rng(0)
            x = rng.standard_normal(x_shape).astype(dtype)
            w = rng.standard_normal(w_shape).astype(dtype)
            b = rng.standard_normal(w_shape[0]).astype(dtype)
            conv_param = {"stride": stride, "pad": pad}
            out, _ = fast_layers.conv_forward_fast(x, w, b, conv_param)
            dout = rng.standard_normal(out.shape).astype(dtype)
            parts_of_runs = []
            runners = {"fast": lambda: parts_of_runs.append(
                clock.forward_backward(x, w, b, conv_param, dout)),
                "torch": make_runners(x_shape, w_shape, stride, pad, dtype)["torch"]}
            timings = time_in_turns(runners, {"fast": args.repeats, "torch": args.repeats})
            torch_ms, fast_ms = timings["torch"][0] * 1e3, timings["fast"][0] * 1e3
            parts_ms = {part: 1e3 * float(np.median([parts[part] for parts in parts_of_runs]))
                        for part in PARTS}
            essential_ms = sum(parts_ms[part] for part in ESSENTIAL)
            ratios["fast"][dtype].append(fast_ms / torch_ms)
            ratios["essential"][dtype].append(essential_ms / torch_ms)
            cells = [name, dtype, f"{torch_ms:.2f}", f"{fast_ms:.2f}"]
            cells += [f"{parts_ms[part]:.2f}" for part in PARTS]
            cells += [f"{essential_ms:.2f}", f"{fast_ms / torch_ms:.2f}",
                      f"{essential_ms / torch_ms:.2f}"]
            rows.append("| " + " | ".join(cells) + " |")
            print(rows[-1], flush=True)

    summary = [""]
    for dtype in DTYPES:
        summary.append(f"- geometric mean over torch, {dtype}: fast "
                       f"{geometric_mean(ratios['fast'][dtype]):.2f}, essential passes "
                       f"{geometric_mean(ratios['essential'][dtype]):.2f}")
    summary.append(f"- load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    print("\n".join(summary), flush=True)
    write_report(args, report + rows + summary)


if __name__ == "__main__":
    main()
