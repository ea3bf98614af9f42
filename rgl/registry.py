"""Registries of rgl.

Every mmengine root registry has a child here with scope ``'rgl'``. A child
imports the subpackage named in ``locations`` the first time a ``type`` is
looked up, so ``import rgl`` stays cheap and a config never needs
``custom_imports`` for rgl's own modules.

A config that sets ``default_scope = 'rgl'`` builds rgl modules by bare name
(``type='SiT'``), falls back to mmengine's (``type='AdamW'``), and reaches
other OpenMMLab packages with a scope prefix (``type='mmpretrain.ResNet'``).
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'STRATEGIES', 'DATASETS', 'DATA_SAMPLERS',
    'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'TASK_UTILS', 'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS',
    'INFERENCERS', 'FUNCTIONS', 'SAMPLERS'
]

_ENGINE = ['rgl.engine']
_DATA = ['rgl.datasets']
_MODELS = ['rgl.models']
_EVAL = ['rgl.evaluation']


def _child(name, parent, locations):
    return Registry(name, parent=parent, scope='rgl', locations=locations)


# engine: runners, loops, hooks, optimisation
RUNNERS = _child('runner', MMENGINE_RUNNERS, _ENGINE)
RUNNER_CONSTRUCTORS = _child('runner constructor',
                             MMENGINE_RUNNER_CONSTRUCTORS, _ENGINE)
LOOPS = _child('loop', MMENGINE_LOOPS, _ENGINE)
HOOKS = _child('hook', MMENGINE_HOOKS, _ENGINE)
LOG_PROCESSORS = _child('log processor', MMENGINE_LOG_PROCESSORS, _ENGINE)
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, _ENGINE)
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, _ENGINE)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    _ENGINE)
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS,
                          _ENGINE)
STRATEGIES = _child('strategy', MMENGINE_STRATEGIES, _ENGINE)

# data
DATASETS = _child('dataset', MMENGINE_DATASETS, _DATA)
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, _DATA)
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, _DATA)

# models: backbones, encoders, aligners, losses, smoothing wrappers, ...
MODELS = _child('model', MMENGINE_MODELS, _MODELS)
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, _MODELS)
WEIGHT_INITIALIZERS = _child('weight initializer',
                             MMENGINE_WEIGHT_INITIALIZERS, _MODELS)
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, _MODELS)

# evaluation
METRICS = _child('metric', MMENGINE_METRICS, _EVAL)
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, _EVAL)

# visualisation and inference
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, _ENGINE)
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, _ENGINE)
INFERENCERS = _child('inferencer', MMENGINE_INFERENCERS, ['rgl.apis'])
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, ['rgl.utils'])

# rgl's own: stateless ODE/SDE samplers and guidance (diffusers-style steps).
SAMPLERS = Registry('sampler', scope='rgl', locations=['rgl.samplers'])
