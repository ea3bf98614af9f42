"""Command-line flags shared by the certification tools (``certify.py``,
``certify_cascade.py``): which images, where the TSV goes, and how the
processes run. Each tool adds its own sampling flags."""
import os


def add_run_arguments(parser):
    """Add the image-range, output, device and launcher flags."""
    from mmengine.config import DictAction
    parser.add_argument('--skip', type=int, help='every skip-th image (1)')
    # --N / --max-idx: torchrun rejects --n and --max as ambiguous prefixes
    # of its own options, even after the script name
    parser.add_argument('--max', '--max-idx', dest='max', type=int,
                        help='stop before this index (-1: all)')
    parser.add_argument('--split', help="dataset split ('test')")
    parser.add_argument('--seed', type=int, help='noise seed (0): image idx '
                        'draws from its own streams seeded by (seed, idx)')
    parser.add_argument('--out', required=True, help='output TSV')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing --out of another run')
    parser.add_argument('--images-per-step', type=int, default=None,
                        help='images whose draws share batches (default: '
                        'ceil(batch / n0), at most 64); results do not '
                        'depend on it')
    parser.add_argument('--fp32', action='store_true',
                        help='no autocast / channels-last on GPU')
    parser.add_argument('--device', default=None,
                        help='cpu, cuda, cuda:1 ...')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def add_cpu_batching_arguments(parser):
    """``--micro-batch`` and ``--workers``: how a CPU cuts each batch of
    noisy copies (``SmoothedClassifier(micro_batch=, workers=)``)."""
    parser.add_argument('--micro-batch', type=int, default=32,
                        help='CPU: forward passes of at most this many '
                        'copies (a batch is split evenly); 0 = one forward '
                        'per batch. Results do not depend on it')
    parser.add_argument('--workers', type=int,
                        help='CPU: micro-batches run this many at a time, '
                        'one intra-op thread each (default: the torch '
                        'thread count; 1: one at a time on all threads). '
                        'Results do not depend on it')
    return parser


def parse_run_args(parser, argv=None):
    """``parser.parse_args`` that also exports ``LOCAL_RANK`` for the
    ``pytorch`` launcher when torchrun did not set it."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args
