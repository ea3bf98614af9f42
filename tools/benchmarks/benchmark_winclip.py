"""WinCLIP window scoring: batched passes vs. a per-window loop.

    python tools/benchmarks/benchmark_winclip.py [--arch ViT-B-16-plus-240]
        [--batch-size 4] [--iters 3] [--device cpu] [--threads N]

Both paths embed every 2x2 and 3x3 window of the token grid (196 + 169 on
ViT-B-16-plus-240) from the same tokens; the script checks that they give
the same embeddings and the same zero-shot maps, then reports images/s and
peak memory of each. The loop path is the straightforward reimplementation
(one transformer call per window, as in the common reimplementations);
the batched path is rgl's ``WindowEmbedder``. Random weights: speed does not
depend on them. Each path runs in its own process so that peak RSS (CPU) is
not shared; on CUDA the peak allocated memory is reported.
"""
import argparse
import json
import resource
import subprocess
import sys
import time

import torch


def build(arch):
    from rgl.models.anomaly import WinCLIP
    model = WinCLIP(clip=dict(model_name=arch), class_name='object',
                    prompt=dict(type='CompositionalPromptEnsemble',
                                templates=('a photo of a {}.', )))
    return model


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(args):
    """One path in this process; prints a JSON line."""
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = build(args.arch).to(args.device)
    size = model.embedder.image_size
    x = torch.rand(args.batch_size, 3, *size, device=args.device)
    xn = model.normalize(x)
    emb = model.embedder
    fn = emb.forward_window_loop if args.path == 'loop' else \
        (lambda t: emb(t)['windows'])
    fn(xn[:1])  # warm-up
    base = rss_mb()
    if args.device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        out = fn(xn)
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    mem = (torch.cuda.max_memory_allocated() / 2**20
           if args.device.startswith('cuda') else rss_mb() - base)
    torch.save({k: v.cpu() for k, v in out.items()}, args.save)
    best = min(times)
    print(json.dumps(dict(path=args.path, images_per_s=args.batch_size / best,
                          seconds_per_batch=best, peak_mem_mb=mem)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--arch', default='ViT-B-16-plus-240')
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--iters', type=int, default=3)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--path', choices=['batched', 'loop'])
    p.add_argument('--save')
    args = p.parse_args()
    if args.path:
        return run_one(args)
    import tempfile
    tmp = tempfile.mkdtemp()
    results = {}
    for path in ('batched', 'loop'):
        cmd = [sys.executable, __file__, '--path', path, '--save',
               f'{tmp}/{path}.pt'] + sys.argv[1:]
        line = subprocess.run(cmd, capture_output=True, text=True,
                              check=True).stdout.strip().splitlines()[-1]
        results[path] = json.loads(line)
    a = torch.load(f'{tmp}/batched.pt', weights_only=True)
    b = torch.load(f'{tmp}/loop.pt', weights_only=True)
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    # identical zero-shot maps: same harmonic aggregation of the same scores
    model = build(args.arch)
    protos = model.text_prototypes('object')[None].expand(
        next(iter(a.values())).shape[0], -1, -1)
    maps = {}
    for name, wins in (('batched', a), ('loop', b)):
        from rgl.models.anomaly.windows import harmonic_aggregation
        maps[name] = torch.stack([harmonic_aggregation(
            model.text_score(wins[k], protos), model.embedder.coverage(k))
            for k in model.embedder.scales])
    map_diff = float((maps['batched'] - maps['loop']).abs().max())
    speedup = results['batched']['images_per_s'] / \
        results['loop']['images_per_s']
    threads = args.threads or torch.get_num_threads()
    print(f'arch {args.arch}, batch {args.batch_size}, device {args.device},'
          f' threads {threads}')
    print('| path | images/s | s/batch | peak mem (MB) |')
    print('|---|---:|---:|---:|')
    for name, r in results.items():
        print(f"| {name} | {r['images_per_s']:.3g} | "
              f"{r['seconds_per_batch']:.3g} | {r['peak_mem_mb']:.0f} |")
    print(f'speed-up {speedup:.1f}x; max |embedding diff| {diff:.2e}; '
          f'max |window-score map diff| {map_diff:.2e}')


if __name__ == '__main__':
    main()
