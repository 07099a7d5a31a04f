# Strategy "partial fine-tuning" (medium dataset, or one unlike ImageNet): the patch embedding, its
# pre-norm and the first six of its twelve blocks of CLIP ViT-B/16 stay frozen; the rest and the
# head fine-tune.
_base_ = ['vit-base-p16_clip_fruit.py', '_base_/strategies/partial_ft_vit_base_p16_clip.py']

model = {{_base_.strategy.model}}
