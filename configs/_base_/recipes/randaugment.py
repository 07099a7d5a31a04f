# RandAugment (timm's "rand-m9-n2-mstd0.5-inc1", mmpretrain's transform): two random photometric
# or geometric operations per training image at magnitude 9 of 10 (std 0.5). Pads with ImageNet's
# mean colour (BGR). Use it in a config after its bases:
#
#   _base_ = ['convnext-tiny_fruit.py', '_base_/recipes/randaugment.py']
#   train_dataloader = dict(dataset=dict(pipeline={{_base_.randaugment_train_pipeline}}))
randaugment = dict(
    type='RandAugment',
    policies='timm_increasing',
    num_policies=2,
    total_level=10,
    magnitude_level=9,
    magnitude_std=0.5,
    hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic'),
)
randaugment_train_pipeline = [
    dict(type='LoadAndRandomResizedCrop', scale='auto', flip_prob=0.5, fast_decode=True),
    randaugment,
    dict(type='PackInputs'),
]
