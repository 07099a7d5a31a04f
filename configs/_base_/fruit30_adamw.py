# fruit30_sgd.py with AdamW, for the transformer and ConvNeXt families (which were pretrained
# with AdamW and fine-tune with it): lr 1e-4 for 8 GPUs x 32 images (weight decay 0.05, none on
# norms and biases), one warm-up epoch, cosine decay over 30 epochs, gradients clipped to norm
# 1.0 as in mmpretrain's ViT/Swin/ConvNeXt recipes. auto_scale_lr rescales the lr to the total
# batch size actually used.
_base_ = [
    './datasets/fruit30.py',
    './schedules/adamw_cosine_30e.py',
    './default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(lr=1e-4), clip_grad=dict(max_norm=1.0))  # for 8 x 32 images
auto_scale_lr = dict(base_batch_size=256, enable=True)
