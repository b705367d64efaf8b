"""Profile one training step of a reference configuration of nndl.train.

    python benchmarks/profile_training.py cifar10 [--model threelayer] [--batch-size B]
        [--repeats 20] [--threads 2] [--set num_filters=32 --set filter_size=5 ...]

What it measures (medians over --repeats steps, random inputs of the dataset's shape, the
model and solver settings of nndl.train.REFERENCE_CONFIGS unless overridden):

1. The whole step as the Solver takes it (augmentation, model.loss, Adam on every
   parameter), in wall time and in process CPU time.
2. For ThreeLayerConvNet, every layer on its own, on the shapes of the step: the fast
   convolution split into its matrix products (timed alone on the same operands) and the
   rest (im2col / col2im copies: the difference, timed back to back in every repetition),
   spatial batchnorm, ReLU, max pooling, the two affine layers, the softmax loss, the Adam
   updates and the augmentation. This part reads the im2col matrix from the cache of
   conv_forward_fast (its last element), so it follows that function's cache layout.
3. The achieved GFLOP/s of the convolution (useful multiply-adds of forward + dw + dx,
   2 flops each, divided by the time of conv forward + backward) and of its matrix
   products alone, against NumPy's matmul on a large square matrix of the same dtype.
4. A cProfile table of the step (any model), by the time spent inside each function;
   time in ``a @ b`` is charged to the Python function that wrote it.

The thread count is fixed before NumPy loads (OMP/OPENBLAS/MKL_NUM_THREADS). This is a
script, not a test: nothing is asserted.
"""
import argparse
import cProfile
import io
import os
import pstats
import sys
import time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=["cifar10", "mnist"])
    parser.add_argument("--model", choices=["threelayer", "lenet5"], default="threelayer")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=20, help="timed steps (default 20)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a model argument, e.g. --set filter_size=5")
    parser.add_argument("--augment", default="config",
                        help="augmentation name, 'none', or 'config' (the reference's)")
    args = parser.parse_args()
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be >= 1")
    return args


def set_thread_environment(threads):
    if "numpy" in sys.modules:
        raise RuntimeError("numpy was imported before the thread count could be set")
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)


def median_time(function, repeats):
    """Median (wall seconds, CPU seconds) of function() over repeats calls, after one warm-up."""
    import numpy as np
    function()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return float(np.median(walls)), float(np.median(cpus))


def parse_override(text):
    key, _, value = text.partition("=")
    if not key or not value:
        raise ValueError(f"--set expects KEY=VALUE, got {text!r}")
    for convert in (int, float):
        try:
            return key, convert(value)
        except ValueError:
            pass
    return key, {"True": True, "False": False}.get(value, value)


def build_step(args):
    """(model, step function, X, y, config) for the chosen configuration."""
    import numpy as np
    from nndl import optim, train

    config = train.reference_config(args.dataset, args.model, batch_size=args.batch_size)
    config["model"].update(dict(parse_override(text) for text in args.set))
    if args.augment != "config":
        config["augment"] = None if args.augment == "none" else args.augment
    model = train.build_model(args.dataset, args.model, config["model"], seed=0)
    rng = np.random.default_rng(0)
    batch = config["solver"]["batch_size"]
    X = rng.standard_normal((batch,) + train.INPUT_DIMS[args.dataset]).astype(np.float32)
    y = rng.integers(0, 10, batch)
    augment = train.AUGMENTATIONS[config["augment"]]
    update = optim.UPDATE_RULES[config["solver"]["update_rule"]]
    optim_configs = {name: dict(config["solver"]["optim_config"]) for name in model.params}

    def step():
        X_batch = augment(X, rng) if augment is not None else X
        _, grads = model.loss(X_batch, y)
        for name, value in list(model.params.items()):
            model.params[name], optim_configs[name] = update(value, grads[name],
                                                             optim_configs[name])
    return model, step, X, y, config


def layer_breakdown(model, X, y, config, repeats):
    """Rows (component, category, wall seconds, flops or 0) for a ThreeLayerConvNet step."""
    import numpy as np
    from nndl import optim, train
    from nndl.layers import (affine_backward, affine_forward, relu_backward, relu_forward,
                             softmax_loss)
    from utils import fast_layers
    from utils.conv_checks import check_conv_inputs
    from utils.fast_layers import (conv_backward_fast, conv_forward_fast,
                                   max_pool_backward_fast, max_pool_forward_fast,
                                   spatial_batchnorm_backward_fast, spatial_batchnorm_forward_fast)

    p = model.params
    rows = []

    def add(name, category, function, flops=0.0):
        rows.append((name, category, median_time(function, repeats)[0], flops))

    K = p["W1"].shape[2]
    conv_param = {"stride": 1, "pad": (K - 1) // 2}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    conv_out, conv_cache = conv_forward_fast(X, p["W1"], p["b1"], conv_param)
    # The products conv_forward_fast and conv_backward_fast compute, chunk by chunk, on
    # copies of the chunks' im2col matrices (so that timing them leaves the copies out).
    stride, pad = check_conv_inputs(X, p["W1"], p["b1"], conv_param)
    geometry = fast_layers._ConvGeometry(X.shape, p["W1"].shape, stride, pad)
    phases = conv_cache[-1]   # the padded input, split by stride phase
    chunk_cols = [geometry.im2col(phases, start, stop).copy()
                  for start, stop in geometry.example_chunks(np.dtype(np.float32).itemsize,
                                                                 fast_layers._blas_threads())]
    total_columns = sum(cols.shape[1] for cols in chunk_cols)
    F, CKK = p["W1"].shape[0], int(np.prod(p["W1"].shape[1:]))
    useful = 2.0 * F * CKK * conv_out.shape[0] * conv_out.shape[2] * conv_out.shape[3]
    wb = np.ascontiguousarray(np.concatenate([p["W1"].reshape(F, -1), p["b1"][:, None]], 1))
    dconv = np.ones_like(conv_out)
    dout_grids = [np.zeros((F, cols.shape[1]), np.float32) for cols in chunk_cols]
    w_columns = p["W1"].reshape(F, -1).T

    def forward_gemms():
        for cols in chunk_cols:
            wb @ cols

    def dw_gemms():
        for cols, dout_grid in zip(chunk_cols, dout_grids):
            cols @ dout_grid.T

    def dx_gemms():
        for dout_grid in dout_grids:
            w_columns @ dout_grid

    # Each repetition times the whole layer and its matrix products back to back, so that
    # a busy phase of a shared machine hits both; the copies are the difference.
    parts = {"fwd": lambda: conv_forward_fast(X, p["W1"], p["b1"], conv_param),
             "gemm_fwd": forward_gemms,
             "bwd": lambda: conv_backward_fast(dconv, conv_cache),
             "gemm_dw": dw_gemms,
             "gemm_dx": dx_gemms}
    samples = {name: [] for name in parts}
    for repeat in range(repeats + 1):
        for name, function in parts.items():
            started = time.perf_counter()
            function()
            if repeat:
                samples[name].append(time.perf_counter() - started)
    fwd, gemm_fwd, bwd, gemm_dw, gemm_dx = (np.array(samples[name]) for name in parts)
    t_fwd, t_gemm_fwd = float(np.median(fwd)), float(np.median(gemm_fwd))
    t_bwd, t_gemm_bwd = float(np.median(bwd)), float(np.median(gemm_dw + gemm_dx))
    grid_flops = 2.0 * F * CKK * total_columns
    rows += [("conv forward: GEMM w @ cols", "matmul", t_gemm_fwd, grid_flops),
             ("conv forward: im2col, bias row, output transpose", "im2col/col2im copies",
              float(np.median(fwd - gemm_fwd)), 0.0),
             ("conv backward: GEMMs cols @ dout.T and w.T @ dout", "matmul",
              t_gemm_bwd, 2 * grid_flops),
             ("conv backward: col2im, dout grid, phases", "im2col/col2im copies",
              float(np.median(bwd - gemm_dw - gemm_dx)), 0.0)]

    if model.use_batchnorm:
        bn_param = dict(model.bn_params[0], mode="train")
        bn_out, bn_cache = spatial_batchnorm_forward_fast(conv_out, p["gamma1"], p["beta1"],
                                                          bn_param)
        add("spatial batchnorm forward", "batchnorm",
            lambda: spatial_batchnorm_forward_fast(conv_out, p["gamma1"], p["beta1"], bn_param))
        add("spatial batchnorm backward", "batchnorm",
            lambda: spatial_batchnorm_backward_fast(dconv, bn_cache))
    else:
        bn_out = conv_out
    # The sandwich layer pools first and applies ReLU to the pooled output (the same result).
    pooled_raw, pool_cache = max_pool_forward_fast(bn_out, pool_param)
    add("max pool forward", "pooling", lambda: max_pool_forward_fast(bn_out, pool_param))
    add("max pool backward", "pooling", lambda: max_pool_backward_fast(pooled_raw, pool_cache))
    pooled, relu_cache = relu_forward(pooled_raw)
    add("relu forward + backward (pooled conv output)", "elementwise",
        lambda: relu_backward(pooled, relu_forward(pooled_raw)[1]))

    N, D, H = X.shape[0], p["W2"].shape[0], p["W2"].shape[1]
    hidden, hidden_cache = affine_forward(pooled, p["W2"], p["b2"])
    add("affine 1 forward + backward", "matmul",
        lambda: affine_backward(hidden, affine_forward(pooled, p["W2"], p["b2"])[1]),
        3 * 2.0 * N * D * H)
    scores, scores_cache = affine_forward(hidden, p["W3"], p["b3"])
    add("affine 2 forward + backward", "matmul",
        lambda: affine_backward(scores, affine_forward(hidden, p["W3"], p["b3"])[1]),
        3 * 2.0 * N * H * scores.shape[1])
    add("relu (hidden) + softmax loss", "elementwise",
        lambda: (relu_backward(hidden, relu_forward(hidden)[1]), softmax_loss(scores, y)))
    grads = {name: np.ones_like(value) for name, value in p.items()}
    adam_configs = {name: dict(config["solver"]["optim_config"]) for name in p}
    add("Adam update of all parameters", "elementwise",
        lambda: [optim.adam(p[name], grads[name], adam_configs[name]) for name in p])
    augment = train.AUGMENTATIONS[config["augment"]]
    if augment is not None:
        rng = np.random.default_rng(0)
        add(f"augmentation ({config['augment']})", "elementwise", lambda: augment(X, rng))
    conv_gflops = 3 * useful / (t_fwd + t_bwd) / 1e9
    conv_gemm_gflops = 3 * grid_flops / (t_gemm_fwd + t_gemm_bwd) / 1e9
    return rows, conv_gflops, conv_gemm_gflops, (F, CKK + 1, total_columns)


def square_matmul_gflops(size=2048, repeats=5):
    import numpy as np
    a = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    return 2.0 * size ** 3 / median_time(lambda: a @ a, repeats)[0] / 1e9


def main():
    args = parse_args()
    set_thread_environment(args.threads)
    import numpy as np
    model, step, X, y, config = build_step(args)
    print(f"# Profile of one training step: {args.dataset} {args.model}, batch "
          f"{X.shape[0]}, float32, {args.threads} BLAS threads")
    print(f"model {config['model']}, augment {config['augment']}")
    print(f"load average before: {os.getloadavg()}")
    wall, cpu = median_time(step, args.repeats)
    print(f"\nwhole step: {wall * 1e3:.1f} ms wall, {cpu * 1e3:.1f} ms CPU "
          f"(median of {args.repeats}); {X.shape[0] / wall:.0f} images/s")

    if args.model == "threelayer":
        rows, conv_gflops, gemm_gflops, gemm_shape = layer_breakdown(model, X, y, config,
                                                                     args.repeats)
        total = sum(row[2] for row in rows)
        print(f"\n| component | category | ms | share | GFLOP/s |\n|---|---|---|---|---|")
        for name, category, seconds, flops in rows:
            rate = f"{flops / seconds / 1e9:.1f}" if flops else ""
            print(f"| {name} | {category} | {seconds * 1e3:.2f} | "
                  f"{100 * seconds / total:.0f}% | {rate} |")
        print(f"| sum of the components | | {total * 1e3:.1f} | 100% | |")
        print("\nshare by category:")
        for category in dict.fromkeys(row[1] for row in rows):
            seconds = sum(row[2] for row in rows if row[1] == category)
            print(f"- {category}: {100 * seconds / total:.0f}%")
        print(f"\nconv GEMM (F, C*K*K + 1, N * H_out * G) = {gemm_shape}")
        print(f"conv forward + backward: {conv_gflops:.1f} GFLOP/s useful; its matrix products "
              f"alone: {gemm_gflops:.1f} GFLOP/s")
    print(f"NumPy float32 matmul 2048x2048: {square_matmul_gflops():.1f} GFLOP/s")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.repeats):
        step()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
    print("\ncProfile, by time inside each function:")
    print("\n".join(line for line in text.getvalue().splitlines()[4:] if line.strip()))
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
