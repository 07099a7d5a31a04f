# Everything a *_fruit.py config shares but its model: the fruit-30 data, fine-tuning with SGD
# (lr 0.01 for 8 GPUs x 32 images, one warm-up epoch, cosine decay over 30 epochs) and mmtl's
# runtime. auto_scale_lr rescales the lr to the total batch size actually used (e.g. x1/8 on one
# GPU). A family's fruit config adds its base model, the class count and load_from:
#
#   _base_ = ['_base_/models/resnet50.py', '_base_/fruit30_sgd.py']
#   model = dict(head=dict(num_classes=30))
#   load_from = 'https://...'
_base_ = [
    './datasets/fruit30.py',
    './schedules/sgd_cosine_30e.py',
    './default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(lr=0.01))  # for 8 x 32 images
auto_scale_lr = dict(base_batch_size=256, enable=True)
