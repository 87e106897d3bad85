"""Deterministic multilingual training corpus for the tiny SentencePiece model.

Everything lives in the repository (corpus_data/ holds verbatim copies of a few of
Debian's /usr/share/common-licenses texts), so the trained spiece.model does not
depend on the machine. Lines: templated English video prompts (the bulk) plus
hand-written sentences in several scripts so that accents, Cyrillic, Greek, CJK,
Hangul, Arabic and Devanagari are partly in the vocabulary. A few emoji appear so
that some are in-vocabulary and others map to <unk>.
"""
import os
import random

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus_data")
LICENSES = ["Apache-2.0", "Artistic", "CC0-1.0", "GFDL-1.3", "GPL-3", "LGPL-2.1", "MPL-2.0"]

SUBJECTS = [
    "a cat", "a dog", "an old man", "a young woman", "two children", "a robot", "a red fox", "a horse",
    "a astronaut", "a samurai", "a dancer", "a chef", "a golden retriever", "a panda", "an eagle", "a whale",
    "a knight in armor", "a street musician", "a painter", "a surfer", "a skateboarder", "a train", "a sailboat",
    "a vintage car", "a hot air balloon", "a butterfly", "a jellyfish", "a lighthouse keeper", "a grandmother",
    "a little girl", "a boy with a kite", "a group of friends", "a marching band", "a dragon", "a tiger",
    "a penguin", "an owl", "a koala", "a deer", "a squirrel", "a firefighter", "a scientist", "a ballerina",
]
ACTIONS = [
    "walking slowly", "running through", "dancing in", "sleeping near", "jumping over", "flying above",
    "swimming across", "looking at", "playing with", "sitting beside", "climbing", "exploring", "cooking in",
    "reading a book in", "painting a picture of", "riding a bicycle through", "singing in", "waving from",
    "drifting over", "standing still in", "turning around in", "laughing in", "hiding behind", "crossing",
]
PLACES = [
    "a snowy forest", "a busy city street", "a quiet beach at sunset", "a neon-lit alley", "a mountain lake",
    "a medieval castle", "a futuristic city", "a cozy kitchen", "a field of sunflowers", "the surface of Mars",
    "an underwater coral reef", "a rainy train station", "a desert canyon", "a bamboo grove", "a night market",
    "a library full of old books", "a misty valley", "a frozen river", "a tropical jungle", "an empty stadium",
    "a rooftop garden", "a foggy harbor", "a candle-lit room", "a wheat field in summer", "a snowy village",
]
STYLES = [
    "cinematic lighting", "shot on 35mm film", "soft focus", "high detail", "4k", "slow motion",
    "aerial view", "close-up shot", "wide angle", "golden hour", "dramatic shadows", "pastel colors",
    "vibrant colors", "black and white", "watercolor style", "anime style", "photorealistic", "tracking shot",
    "handheld camera", "depth of field", "studio lighting", "volumetric fog", "motion blur", "long exposure",
]
EXTRA = [
    "The camera slowly pans to the left.", "The wind moves the leaves gently.", "Birds fly in the background.",
    "Light reflects on the water.", "Snowflakes fall softly.", "The scene is calm and peaceful.",
    "People walk past in the distance.", "Steam rises from a cup of coffee.", "The sky turns orange and pink.",
    "Rain drops hit the window.", "Sparks fly in every direction.", "The crowd cheers loudly.",
    "Bright tones, overexposed, static, blurred details, subtitles, worst quality, low quality, JPEG artifacts.",
    "ugly, incomplete, extra fingers, poorly drawn hands, poorly drawn faces, deformed, disfigured.",
    "messy background, three legs, many people in the background, walking backwards.",
]

MULTILINGUAL = [
    # French
    "Un chat dort paisiblement sur le rebord de la fenêtre pendant que la pluie tombe.",
    "La caméra suit une jeune femme qui marche dans les rues de Paris à l'aube.",
    "Un vieux pêcheur répare son filet sur le quai, éclairé par la lumière dorée du soir.",
    "Les enfants jouent dans le jardin, près de la fontaine, et rient aux éclats.",
    "Été, hiver, château, forêt, élève, cœur, où, naïve, Noël, garçon, français.",
    # German
    "Ein Hund läuft über eine grüne Wiese, während die Sonne langsam untergeht.",
    "Die Straßenbahn fährt durch die verschneite Altstadt von München.",
    "Größe, Grüße, schön, Bäume, Mädchen, Übung, Fußball, weiß, Brücke, fröhlich.",
    # Spanish / Portuguese / Italian
    "Una niña pequeña baila en la plaza mientras suena la música de la guitarra.",
    "El señor mayor camina por la playa con su perro al atardecer, ¿verdad?",
    "Niño, año, corazón, canción, mañana, jamón, pingüino, ¡qué bonito!",
    "Um gato preto atravessa a rua molhada sob a luz dos postes em Lisboa.",
    "Ação, coração, não, pão, avó, você, lições, informação, São Paulo.",
    "Una gondola scivola lentamente lungo il canale di Venezia al tramonto.",
    "Perché, città, più, così, caffè, è, università, felicità.",
    # Polish / Czech / Turkish / Vietnamese / Nordic
    "Zażółć gęślą jaźń. Łódź, Kraków, źródło, łąka, żółw, święto.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy. Řeka, město, škola.",
    "Küçük bir kedi güneşli bir günde bahçede oynuyor. Şehir, ağaç, göl, İstanbul.",
    "Một chú mèo nhỏ đang ngủ trên mái nhà dưới ánh trăng. Phở, Hà Nội, tiếng Việt.",
    "Blåbærsyltetøy, smørbrød, søster, Ålesund, fjäril, ö, Malmö, Tórshavn.",
    # Russian / Ukrainian / Greek
    "Маленькая девочка бежит по заснеженному полю, а за ней летит воздушный змей.",
    "Старый поезд медленно едет через лес, камера снимает сверху.",
    "Кошка, собака, город, река, солнце, зима, красивый, улица, небо.",
    "Київ, пісня, їжак, ґанок, слава, мова, сонце.",
    "Μια γάτα κοιμάται δίπλα στο παράθυρο καθώς πέφτει η βροχή.",
    "Θάλασσα, ήλιος, βουνό, πόλη, φως, αγάπη, Αθήνα.",
    # Chinese (simplified and traditional)
    "一只小猫在窗台上睡觉，窗外下着小雨。",
    "镜头缓慢地跟随一位年轻女子走过繁忙的城市街道。",
    "日落时分，一艘帆船在平静的海面上航行，天空呈现出橙色和粉色。",
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，",
    "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，",
    "形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走。",
    "一只熊猫在竹林里吃竹子，阳光透过树叶洒下来，电影感，高清，慢动作。",
    "城市的夜晚，霓虹灯闪烁，雨水打湿了街道，人们撑着伞走过。",
    "一隻小狗在公園裡奔跑，孩子們在後面追著牠，畫面溫馨。",
    # Japanese
    "雨の日に猫が窓辺で眠っている。カメラはゆっくりと近づく。",
    "桜の花びらが風に舞い、若い女性が川沿いを歩いている。",
    "東京の夜景、ネオンサイン、人々が交差点を渡る。アニメ風、高画質。",
    "ひらがな、カタカナ、漢字、こんにちは、ありがとう、さようなら。",
    # Korean
    "작은 고양이가 창가에서 잠을 자고 있고 밖에는 비가 내린다.",
    "서울의 밤거리, 네온사인, 사람들이 횡단보도를 건너고 있다.",
    "안녕하세요, 감사합니다, 사랑, 하늘, 바다, 영화 같은 장면.",
    # Arabic / Hebrew / Hindi / Thai
    "قطة صغيرة تنام بجانب النافذة بينما يتساقط المطر.",
    "مدينة، شمس، بحر، جميل، ليل، سماء.",
    "חתול קטן ישן ליד החלון בזמן שיורד גשם.",
    "एक छोटी बिल्ली खिड़की के पास सो रही है और बाहर बारिश हो रही है।",
    "नमस्ते, धन्यवाद, सूरज, नदी, शहर, सुंदर।",
    "แมวตัวเล็กนอนหลับอยู่ข้างหน้าต่างขณะที่ฝนตก",
    # a little punctuation / digits / emoji (some emoji stay out of vocabulary on purpose)
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 1080p 720p 2024 3.14 50% 16:9 #1 @home",
    "Quotes and brackets: \"hello\" 'world' (round) [square] {curly} <angle> a/b a-b a_b a+b=c!",
    "Happy faces 🙂 😀 and hearts ❤ ★ ☆ → ← … — – · • © ® ™ € £ ¥ °C ½",
]


def corpus_lines():
    rng = random.Random(20240521)
    lines = []
    for _ in range(6000):
        s = f"{rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(PLACES)}, {rng.choice(STYLES)}, {rng.choice(STYLES)}."
        s = s[0].upper() + s[1:]
        if rng.random() < 0.5:
            s += " " + rng.choice(EXTRA)
        lines.append(s)
    # the multilingual lines repeated so their pieces get enough frequency
    for rep in range(12):
        for s in MULTILINGUAL:
            lines.append(s)
    # license texts copied verbatim from Debian's /usr/share/common-licenses (vocabulary variety)
    for name in LICENSES:
        with open(os.path.join(DATA, name), encoding="utf-8") as f:
            for para in f.read().split("\n\n"):
                para = " ".join(para.split())
                if para:
                    lines.append(para)
    rng.shuffle(lines)
    return lines


if __name__ == "__main__":
    for line in corpus_lines():
        print(line)
