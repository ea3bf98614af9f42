"""Interleaved A/B timing in worker processes, shared by the side-by-side
benchmarks (benchmark_repa.py, benchmark_winclip.py).

Each variant (rgl, the reference re-implementation, rgl with bf16, ...) is
built in its own worker process, so compile caches, allocator state and
peak memory are its own. The parent sends "run N steps" to the workers in
turn (A, B, C, then C, B, A, ...) and collects, per step, the wall time and
the worker's user and system CPU time. On a shared machine the CPU times are
the robust measure (a step that waits for the cores accrues wall time but
no CPU time); both are reported.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def cpu_times():
    t = os.times()
    return t.user, t.system


def peak_mb(device='cpu'):
    """Peak RSS of this process (CPU) or peak allocated CUDA memory."""
    if str(device).startswith('cuda'):
        import torch
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average():
    try:
        with open('/proc/loadavg') as f:
            return ' '.join(f.read().split()[:3])
    except OSError:
        return 'n/a'


def worker_loop(step, warmup, device='cpu', ready=None):
    """Serve a parent: warm up, print a ready line, then for every integer
    read from stdin run that many timed steps and print their times.

    ``step()`` returns a JSON-able value (a loss, a score) kept per step.
    """
    sync = lambda: None  # noqa: E731
    if str(device).startswith('cuda'):
        import torch
        sync = torch.cuda.synchronize
    start = time.perf_counter()
    values = [step() for _ in range(warmup)]
    sync()
    print(json.dumps(dict(ready=True, warmup_s=time.perf_counter() - start,
                          warmup_values=values, **(ready or {}))), flush=True)
    for line in sys.stdin:
        out = []
        for _ in range(int(line)):
            u0, s0 = cpu_times()
            t0 = time.perf_counter()
            value = step()
            sync()
            u1, s1 = cpu_times()
            out.append(dict(wall=time.perf_counter() - t0, user=u1 - u0,
                            sys=s1 - s0, value=value))
        print(json.dumps(dict(steps=out, peak_mb=peak_mb(device))),
              flush=True)


#: Allocator settings a variant can name (``rgl:fp32:malloc``): glibc keeps
#: freed memory (no trim, large mmap threshold) so that the same large
#: buffers are not unmapped and page-faulted in again at every step.
ALLOCATOR_ENVS = {
    'malloc': dict(MALLOC_TRIM_THRESHOLD_=str(2**34),
                   MALLOC_MMAP_THRESHOLD_=str(2**25), MALLOC_ARENA_MAX='2'),
    'jemalloc': dict(LD_PRELOAD='libjemalloc.so.2',
                     MALLOC_CONF='background_thread:true,dirty_decay_ms:-1,'
                     'muzzy_decay_ms:-1'),
}


def worker_env(spec):
    """The environment of a variant's worker (allocator flags applied)."""
    env = dict(os.environ)
    for flag in spec.split(':')[2:]:
        env.update(ALLOCATOR_ENVS.get(flag, {}))
    return env


def run_interleaved(base_cmd, variants, repeats, steps, log=print):
    """Start one worker per variant (``base_cmd + ['--worker', v]``), run
    ``repeats`` interleaved rounds of ``steps`` steps; return
    ``(ready_info, records, peaks)``."""
    workers, ready = {}, {}
    try:
        for spec in variants:
            proc = subprocess.Popen(base_cmd + ['--worker', spec],
                                    stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True,
                                    env=worker_env(spec))
            workers[spec] = proc
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f'worker {spec} failed (see its stderr)')
            ready[spec] = json.loads(line)
            log(f'{spec}: ready after {ready[spec]["warmup_s"]:.1f} s of '
                f'warm-up, load {load_average()}')
        records = {spec: [] for spec in variants}
        peaks = {}
        for r in range(repeats):
            order = variants if r % 2 == 0 else variants[::-1]
            for spec in order:
                proc = workers[spec]
                try:
                    proc.stdin.write(f'{steps}\n')
                    proc.stdin.flush()
                    line = proc.stdout.readline()
                except BrokenPipeError:
                    line = ''
                if not line:
                    raise RuntimeError(_died(spec, proc))
                answer = json.loads(line)
                records[spec] += answer['steps']
                peaks[spec] = answer['peak_mb']
            log(f'round {r + 1}/{repeats} done, load {load_average()}')
    finally:
        for proc in workers.values():
            if proc.stdin:
                try:
                    proc.stdin.close()
                except BrokenPipeError:  # that worker is gone already
                    pass
            proc.wait()
    return ready, records, peaks


def _died(spec, proc):
    """The error for a worker that stopped answering."""
    code = proc.wait()
    why = (' (SIGKILL: most often the out-of-memory killer; run fewer '
           'variants at once)' if code == -9 else ' (see its stderr)')
    return f'worker {spec} exited with code {code} mid-run{why}'


def medians(records, peaks):
    return {
        spec: dict(wall_s=statistics.median(s['wall'] for s in steps),
                   user_s=statistics.median(s['user'] for s in steps),
                   sys_s=statistics.median(s['sys'] for s in steps),
                   cpu_s=statistics.median(s['user'] + s['sys']
                                           for s in steps),
                   peak_mb=peaks[spec], steps=len(steps))
        for spec, steps in records.items()
    }


def markdown_table(rows, ref, per_item, unit='step', item='img'):
    """Rows of medians with wall and CPU ratios against variant ``ref``."""
    base = rows[ref]
    lines = [
        f'| variant | wall s/{unit} | {item}/s | wall vs {ref} | CPU s/{unit}'
        f' (user + sys) | CPU vs {ref} | sys s/{unit} | peak mem (MB) |',
        '|---|---:|---:|---:|---:|---:|---:|---:|'
    ]
    for spec, row in rows.items():
        lines.append(
            f"| {spec} | {row['wall_s']:.3f} | "
            f"{per_item / row['wall_s']:.3g} | "
            f"{base['wall_s'] / row['wall_s']:.2f}x | "
            f"{row['user_s']:.2f} + {row['sys_s']:.2f} | "
            f"{base['cpu_s'] / row['cpu_s']:.2f}x | {row['sys_s']:.2f} | "
            f"{row['peak_mb']:.0f} |")
    return '\n'.join(lines)
