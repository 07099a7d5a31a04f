# Fine-tune an ImageNet-pretrained VGG-16 on 30 kinds of fruit.
#
#   data/fruit30_split/{train,val,test}/<fruit>/*.jpg
#
#   mim train mmtl vgg16_fruit.py
#   tools/dist_train.sh configs/vgg16_fruit.py 8
#
# The head keeps VGG's two pretrained 4096-wide layers and replaces only the last one
# (4096 -> 30). Data, schedule and runtime: _base_/fruit30_sgd.py.
_base_ = ['_base_/models/vgg16.py', '_base_/fruit30_sgd.py']

model = dict(head=dict(num_classes=30))

# torchvision's ImageNet-1k VGG-16 (71.59 % top-1), converted to this model's layout as it is
# loaded. Downloaded once into the torch hub cache; offline, put the file there or pass
# --cfg-options load_from=/path/to/file.pth.
# OpenMMLab's own VGG-16 (71.62 % top-1),
#   https://download.openmmlab.com/mmclassification/v0/vgg/vgg16_batch256_imagenet_20210208-db26f1a5.pth
# keeps the fully connected layers inside its backbone (backbone.classifier.*, with mmpretrain's
# VGG(num_classes=1000) + ClsHead), so with this config only its conv layers would load.
load_from = 'https://download.pytorch.org/models/vgg16-397923af.pth'
