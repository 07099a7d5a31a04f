# Fine-tune an ImageNet-pretrained MobileNet-v2 on 30 kinds of fruit.
#
#   data/fruit30_split/{train,val,test}/<fruit>/*.jpg
#
#   mim train mmtl mobilenet-v2_fruit.py                    # one machine
#   tools/dist_train.sh configs/mobilenet-v2_fruit.py 8      # 8 GPUs
#
# Data, schedule (SGD, lr 0.01 for 8 GPUs x 32 images, rescaled to the batch actually used)
# and runtime: _base_/fruit30_sgd.py.
_base_ = ['_base_/models/mobilenet_v2_1x.py', '_base_/fruit30_sgd.py']

model = dict(head=dict(num_classes=30))

# OpenMMLab's ImageNet-1k MobileNet-v2 (71.86 % top-1). Downloaded once into the torch hub
# cache; offline, put the file there or pass --cfg-options load_from=/path/to/file.pth.
load_from = (
    'https://download.openmmlab.com/mmclassification/v0/mobilenet_v2/'
    'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth'
)
