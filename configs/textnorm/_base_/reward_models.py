# The four reward models of TIA2 / TextNorm (Kim et al., ICLR 2024), all
# from local files (edit the paths; nothing is downloaded).
reward_models = dict(
    clip=dict(type='CLIPScore', model_name='ViT-L-14-quickgelu',
              checkpoint='weights/clip/openai_vit_l14.bin', batch_size=64),
    blip2=dict(type='BLIP2Score', model_path='weights/blip2-itm-vit-g',
               head='itm', batch_size=16),
    imagereward=dict(type='ImageRewardScore',
                     checkpoint='weights/ImageReward/ImageReward.pt',
                     med_config='weights/ImageReward/med_config.json',
                     tokenizer='weights/bert-base-uncased'),
    pickscore=dict(type='PickScore', model_path='weights/PickScore_v1',
                   processor_path='weights/CLIP-ViT-H-14-laion2B',
                   batch_size=32),
)
