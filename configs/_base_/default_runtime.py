# Runtime shared by all mmtl configs: hooks, logging, environment, visualisation.
default_scope = 'mmtl'

# mmtl's Runner gives a config its meaning when it is built (input_size, data_root copied
# into the datasets, 'auto' loader values, default_hooks.X=None switching hook X off) and
# checks every key first. Set here, so mmengine's RUNNERS.build(cfg) (the standard
# OpenMMLab train script, after `import mmtl`) runs an mmtl config as tools/train.py does.
runner_type = 'MMTLRunner'
# Registers MMTLRunner and mmtl's safe checkpoint loaders with mmengine when the config is
# read (Config.fromfile), so a Runner built from it never loads a checkpoint unsafely.
custom_imports = dict(imports=['mmtl.engine'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Save every epoch, keep the two newest and the best by validation top-1. Atomic: a crash
    # or a full disk never leaves a partial checkpoint, and old ones go only after a new one.
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=2,
        save_best='accuracy/top1',
        rule='greater',
    ),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # After load_from: warn when data_preprocessor's mean/std differ from the ones the weights
    # were trained with (their pretrained_cfg, which timm records beside its weights).
    pretrained_normalization=dict(type='PretrainedNormalizationHook'),
    # Stop when val top-1 has not improved by more than min_delta (in %: a tie is no
    # improvement) for `patience` validations; the checkpoint hook keeps the best checkpoint.
    # Disable with default_hooks=dict(early_stopping=None).
    early_stopping=dict(
        type='EarlyStoppingHook',
        monitor='accuracy/top1',
        rule='greater',
        min_delta=0.001,
        patience=10,
    ),
    # Stop at the first NaN/Inf loss (and never save NaN weights), naming iteration and lr.
    non_finite_loss=dict(type='NonFiniteLossHook'),
    # SIGTERM/SIGINT (or the launcher dying): stop after the iteration with a resumable
    # checkpoint, exit 128 + signal. See docs/reliability.md.
    graceful_stop=dict(type='GracefulStopHook'),
    # The lr of each parameter group after scaling, logged; on --resume a changed lr or
    # max_epochs in the config applies (logged). See docs/reliability.md.
    effective_lr=dict(type='EffectiveLrHook'),
    # Small data: a one-epoch warm-up of 1-2 iterations is stretched to 10 (logged).
    warmup_floor=dict(type='WarmupFloorHook', min_iters=10),
    # At the start of training: total/trainable parameters, FLOPs at the input size and a
    # training-memory estimate at the batch size.
    model_summary=dict(type='ModelSummaryHook'),
    # runner.test() right after runner.train() tests the best checkpoint (logged).
    test_best=dict(type='TestBestCheckpointHook'),
    # After testing: the scalar test metrics also go to MLflow / W&B / TensorBoard backends.
    test_metrics_vis=dict(type='TestMetricsVisHook'),
    # val_loss (cross-entropy of the val predictions) logged beside val top-1.
    val_loss=dict(type='ValLossHook'),
    # A progress bar with ETA per epoch in an interactive terminal (never in logs or CI).
    progress=dict(type='ProgressBarHook'),
)

# Extra hooks of a config (e.g. GradualUnfreezeHook) go here; the default ones above stay.
custom_hooks = []

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# Scalars go to <work_dir>/<timestamp>/vis_data (JSON) and to TensorBoard:
#   tensorboard --logdir work_dirs
vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

# Validation/test time and data_time go to their own tags (val/time, val/data_time), so
# TensorBoard's training time curves do not zig-zag with validation speed.
log_processor = dict(type='EvalTimeTagLogProcessor', by_epoch=True)
log_level = 'INFO'
# The console shows warnings, a short header, one line per validation and a summary; the work
# dir's log file gets everything. True (--verbose in the tools) prints the full log.
verbose = False

load_from = None
# load_from must fill (almost) the whole backbone, else training stops before it starts
# (a checkpoint of another architecture). True allows a partial load (logged as a warning).
load_from_partial = False
resume = False
randomness = dict(seed=0, deterministic=False)
