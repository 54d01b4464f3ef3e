"""Load demo data: sets, equipment (tagged units and a kit), workshops, staff logins and two crews.

Safe to run again: existing rows (matched by slug or email) are left as they are,
except that the catalogue texts (in English, Chinese and Spanish) are brought up to date.
"""

from base64 import b32encode
from binascii import unhexlify
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from bookings import services
from bookings.models import Crew, DayRange, Equipment, EquipmentUnit, KitComponent, StudioSet, User
from hengdian import roles
from workshops import fees as workshop_fees
from workshops import services as workshop_services
from workshops.models import Attendance, Enrolment, PlacePayment, Session, Workshop

DEMO_PASSWORD = "hengdian-demo-2025"  # noqa: S105 - printed on purpose: demo logins only
STAFF_EMAIL = "staff@hengdian.example"
VISA_EMAIL = "visa@hengdian.example"
STORE_EMAIL = "store@hengdian.example"
# The demo staff logins' authenticator key (development only: it is public).
# Add it to an authenticator app, or print the current code with `manage.py demo_totp_code`.
DEMO_TOTP_KEY = "48656e676469616e2d73747564696f2d64656d6f"
DEMO_STAFF = [
    (STAFF_EMAIL, "Studio desk", [roles.BOOKING_DESK, roles.WORKSHOP_DESK]),
    (VISA_EMAIL, "Visa desk", [roles.VISA_OFFICER]),
    (STORE_EMAIL, "Equipment store", [roles.EQUIPMENT_STORE]),
]
CREW_EMAIL = "coordinator@redlantern.example"
SECOND_CREW_EMAIL = "producer@silverbamboo.example"
# Kinds the store hands out by asset tag: (slug, tag prefix); one unit per unit of today's stock.
TAGGED = [("vertical-camera-kit", "CAM"), ("three-axis-gimbal", "GIM"), ("led-panel-1x1", "LED")]
KIT_SLUG = "vertical-interview-package"
KIT_COMPONENTS = [
    ("vertical-camera-kit", 1),
    ("three-axis-gimbal", 1),
    ("led-panel-1x1", 2),
    ("wireless-lav-set", 1),
]


def T(en: str, zh: str, es: str) -> dict[str, str]:
    """One catalogue text in English, Simplified Chinese and Spanish."""
    return {"en": en, "zh_hans": zh, "es": es}


def texts(**fields: dict[str, str]) -> dict[str, str]:
    """``name=T(...)`` → ``{"name_en": …, "name_zh_hans": …, "name_es": …}``: the translation columns."""
    return {
        f"{field}_{language}": text
        for field, by_language in fields.items()
        for language, text in by_language.items()
    }


THREE_PHASE = T("three-phase power", "三相电", "corriente trifásica")
NATURAL_LIGHT = T("natural light", "自然光", "luz natural")


def features(*items: dict[str, str]) -> dict[str, str]:
    """A comma-separated list in each language; Chinese lists use the enumeration comma 、."""
    separators = {"en": ", ", "zh_hans": "、", "es": ", "}
    return {language: sep.join(item[language] for item in items) for language, sep in separators.items()}


C = StudioSet.Category
# The real scenic areas of Hengdian World Studios are named as the studio names them:
# 明清宫苑 Ming-Qing Palace, 秦王宫 Qin Palace, 广州街·香港街 Guangzhou and Hong Kong Streets,
# 清明上河图 Along the River During Qingming Festival, 江南水乡, 大智禅寺, 明清民居博览城.
SETS = [
    # slug, category, rate, changeover days, vertical, area, crew size, texts
    (
        "ming-qing-palace-hall",
        C.PALACE,
        28000,
        1,
        True,
        2400,
        120,
        texts(
            name=T("Ming-Qing palace hall", "明清宫苑 · 大殿", "Gran salón del Palacio Ming-Qing"),
            description=T(
                "The great hall of the Ming-Qing palace, with its throne dais and lacquered columns.",
                "明清宫苑的大殿，设有御座高台和朱漆立柱。",
                "El gran salón del Palacio Ming-Qing, con su estrado del trono y sus columnas lacadas.",
            ),
            features=features(
                T("throne dais", "御座高台", "estrado del trono"),
                T("practical lanterns", "可亮灯笼", "faroles practicables"),
                THREE_PHASE,
            ),
            location=T(
                "Ming-Qing palace area, east gate",
                "明清宫苑景区东门",
                "Zona del Palacio Ming-Qing, puerta este",
            ),
        ),
    ),
    (
        "qin-palace-courtyard",
        C.PALACE,
        22000,
        1,
        True,
        5200,
        200,
        texts(
            name=T("Qin palace courtyard", "秦王宫 · 广场", "Patio del Palacio Qin"),
            description=T(
                "An open stone courtyard of the Qin palace, for processions and duels.",
                "秦王宫开阔的石砌广场，适合拍摄仪仗行进和决斗场面。",
                "Un amplio patio empedrado del Palacio Qin, para desfiles y duelos.",
            ),
            features=features(
                NATURAL_LIGHT, T("horse access", "可入马匹", "acceso para caballos"), THREE_PHASE
            ),
            location=T(
                "Qin palace area, main gate", "秦王宫景区正门", "Zona del Palacio Qin, puerta principal"
            ),
        ),
    ),
    (
        "hong-kong-street-1980s",
        C.ANCIENT_STREET,
        18000,
        1,
        True,
        3600,
        150,
        texts(
            name=T("Hong Kong street, 1980s", "香港街 · 八十年代街区", "Calle de Hong Kong, años ochenta"),
            description=T(
                "A block of 1980s Hong Kong: tenement fronts, neon signs, a tram stop and street stalls.",
                "八十年代的香港街景：唐楼立面、霓虹招牌、电车站和街边摊档。",
                "Una manzana del Hong Kong de los años ochenta: fachadas de edificios de viviendas, "
                "letreros de neón, una parada de tranvía y puestos callejeros.",
            ),
            features=features(
                T("neon signage", "霓虹招牌", "letreros de neón"),
                T("tram stop", "电车站", "parada de tranvía"),
                T("practical shopfronts", "可用店面", "escaparates practicables"),
            ),
            location=T(
                "Hong Kong street backlot, north entrance",
                "广州街·香港街景区北入口",
                "Exteriores de la calle de Hong Kong, entrada norte",
            ),
        ),
    ),
    (
        "qing-dynasty-market-street",
        C.ANCIENT_STREET,
        15000,
        0,
        True,
        4000,
        150,
        texts(
            name=T(
                "Qing dynasty market street", "广州街 · 清代市集街", "Calle del mercado de la dinastía Qing"
            ),
            description=T(
                "Shops, a teahouse and an archway on a Qing-era market street.",
                "清代市集街道，有商铺、茶楼和牌坊。",
                "Tiendas, una casa de té y un arco en una calle de mercado de la época Qing.",
            ),
            features=features(NATURAL_LIGHT, T("teahouse interior", "茶楼内景", "interior de casa de té")),
            location=T(
                "Qing market street, archway entrance",
                "广州街·香港街景区，牌坊入口",
                "Calle del mercado Qing, entrada del arco",
            ),
        ),
    ),
    (
        "modern-ceo-office",
        C.MODERN_OFFICE,
        6800,
        0,
        True,
        180,
        30,
        texts(
            name=T("Modern CEO office", "现代总裁办公室", "Despacho moderno de director general"),
            description=T(
                "A glass corner office with a skyline backdrop: the billionaire-boss scene every micro drama needs.",
                "玻璃幕墙的转角办公室，窗外是城市天际线——每部短剧都少不了的霸道总裁戏。",
                "Un despacho acristalado en esquina con el horizonte de la ciudad al fondo: "
                "la escena del jefe millonario que todo microdrama necesita.",
            ),
            features=features(
                T("floor-to-ceiling windows", "落地窗", "ventanales de suelo a techo"),
                T("city backdrop", "城市背景", "fondo urbano"),
                T("practical lights", "可用灯具", "luces practicables"),
            ),
            location=T(
                "Modern stages building, stage 3",
                "现代摄影棚楼，3号棚",
                "Edificio de platós modernos, plató 3",
            ),
        ),
    ),
    (
        "hospital-ward",
        C.HOSPITAL,
        5200,
        0,
        True,
        220,
        30,
        texts(
            name=T("Hospital ward", "医院病房", "Habitación de hospital"),
            description=T(
                "A four-bed ward with a corridor and nurses' station.",
                "四人病房，配有走廊和护士站。",
                "Una habitación de cuatro camas con pasillo y control de enfermería.",
            ),
            features=features(
                T("working monitors", "可用监护仪", "monitores operativos"),
                T("corridor", "走廊", "pasillo"),
                T("nurses' station", "护士站", "control de enfermería"),
            ),
            location=T(
                "Modern stages building, stage 5",
                "现代摄影棚楼，5号棚",
                "Edificio de platós modernos, plató 5",
            ),
        ),
    ),
    (
        "luxury-villa",
        C.RESIDENCE,
        12000,
        1,
        True,
        900,
        60,
        texts(
            name=T("Luxury villa", "豪华别墅", "Villa de lujo"),
            description=T(
                "A furnished villa with a sweeping staircase and a pool terrace.",
                "陈设齐全的别墅，有弧形大楼梯和泳池露台。",
                "Una villa amueblada con una amplia escalera y una terraza con piscina.",
            ),
            features=features(
                T("staircase", "大楼梯", "escalera"),
                T("pool terrace", "泳池露台", "terraza con piscina"),
                NATURAL_LIGHT,
            ),
            location=T(
                "Villa backlot, main door", "别墅外景区，正门", "Exteriores de la villa, puerta principal"
            ),
        ),
    ),
    (
        "wedding-hall",
        C.WEDDING_HALL,
        9800,
        1,
        True,
        600,
        80,
        texts(
            name=T("Wedding hall", "婚礼大厅", "Salón de bodas"),
            description=T(
                "A banquet hall dressed for a wedding, with stage and aisle.",
                "按婚礼布置的宴会厅，设有舞台和通道。",
                "Un salón de banquetes decorado para una boda, con escenario y pasillo central.",
            ),
            features=features(
                T("stage", "舞台", "escenario"),
                T("chandelier rig", "吊灯架", "estructura de lámparas de araña"),
                T("aisle", "通道", "pasillo central"),
            ),
            location=T(
                "Modern stages building, stage 7",
                "现代摄影棚楼，7号棚",
                "Edificio de platós modernos, plató 7",
            ),
        ),
    ),
    (
        "courtroom",
        C.COURTROOM,
        7500,
        0,
        True,
        300,
        40,
        texts(
            name=T("Courtroom", "法庭", "Sala de tribunal"),
            description=T(
                "A modern courtroom with judge's bench, dock and public gallery.",
                "现代法庭，设有审判席、被告席和旁听席。",
                "Una sala de tribunal moderna con estrado del juez, banquillo de los acusados y tribuna del público.",
            ),
            features=features(
                T("judge's bench", "审判席", "estrado del juez"),
                T("public gallery", "旁听席", "tribuna del público"),
            ),
            location=T(
                "Modern stages building, stage 8",
                "现代摄影棚楼，8号棚",
                "Edificio de platós modernos, plató 8",
            ),
        ),
    ),
    (
        "police-station",
        C.POLICE_STATION,
        6200,
        0,
        True,
        350,
        40,
        texts(
            name=T("Police station", "派出所", "Comisaría de policía"),
            description=T(
                "Front desk, open-plan office, interview room and cells.",
                "接警台、开放式办公区、审讯室和羁押室。",
                "Mostrador de atención, oficina diáfana, sala de interrogatorios y calabozos.",
            ),
            features=features(
                T("interview room with mirror", "带单向镜的审讯室", "sala de interrogatorios con espejo"),
                T("holding cell", "羁押室", "calabozo"),
            ),
            location=T(
                "Modern stages building, stage 9",
                "现代摄影棚楼，9号棚",
                "Edificio de platós modernos, plató 9",
            ),
        ),
    ),
    (
        "campus-classroom",
        C.SCHOOL,
        4200,
        0,
        True,
        160,
        40,
        texts(
            name=T("Campus classroom", "校园教室", "Aula escolar"),
            description=T(
                "A senior-school classroom with corridor and lockers.",
                "高中教室，带走廊和储物柜。",
                "Un aula de bachillerato con pasillo y taquillas.",
            ),
            features=features(
                T("blackboard", "黑板", "pizarra"),
                T("corridor lockers", "走廊储物柜", "taquillas en el pasillo"),
                NATURAL_LIGHT,
            ),
            location=T(
                "Modern stages building, stage 10",
                "现代摄影棚楼，10号棚",
                "Edificio de platós modernos, plató 10",
            ),
        ),
    ),
    (
        "city-rooftop",
        C.ROOFTOP,
        5600,
        0,
        True,
        500,
        30,
        texts(
            name=T("City rooftop", "城市天台", "Azotea urbana"),
            description=T(
                "A rooftop with a skyline view for confessions and confrontations.",
                "可眺望城市天际线的天台，适合告白和对峙戏。",
                "Una azotea con vistas al horizonte urbano, para declaraciones y enfrentamientos.",
            ),
            features=features(
                T("skyline view", "天际线景观", "vistas al horizonte"),
                T("water tanks", "水箱", "depósitos de agua"),
                NATURAL_LIGHT,
            ),
            location=T(
                "Modern stages building, roof access",
                "现代摄影棚楼，天台入口",
                "Edificio de platós modernos, acceso a la azotea",
            ),
        ),
    ),
    (
        "green-screen-stage-3",
        C.GREEN_SCREEN,
        8800,
        0,
        True,
        800,
        50,
        texts(
            name=T("Green-screen stage 3", "3号绿幕棚", "Plató de croma 3"),
            description=T(
                "A three-wall green cyclorama with a full lighting grid.",
                "三面绿幕无缝天幕，配有完整的灯光吊架。",
                "Un ciclorama verde de tres paredes con parrilla de iluminación completa.",
            ),
            features=features(
                T("cyclorama", "无缝天幕", "ciclorama"),
                T("lighting grid", "灯光吊架", "parrilla de iluminación"),
                THREE_PHASE,
            ),
            location=T(
                "Green-screen stages building, stage 3",
                "绿幕摄影棚楼，3号棚",
                "Edificio de platós de croma, plató 3",
            ),
        ),
    ),
    (
        "along-the-river-qingming",
        C.ANCIENT_STREET,
        16000,
        1,
        True,
        6000,
        200,
        texts(
            name=T(
                "Along the River During Qingming Festival",
                "清明上河图",
                "A lo largo del río durante el Festival Qingming",
            ),
            description=T(
                "A Song-dynasty city built after the famous scroll painting: the streets of Bianjing, "
                "a rainbow bridge over the river and waterside shops.",
                "依照名画《清明上河图》建造的宋代城池：汴京街市、河上的虹桥和临水商铺。",
                "Una ciudad de la dinastía Song construida según el célebre rollo pintado: las calles de "
                "Bianjing, un puente en arco sobre el río y tiendas a la orilla del agua.",
            ),
            features=features(
                T("rainbow bridge", "虹桥", "puente en arco"),
                T("river", "河道", "río"),
                T("waterside shops", "临水商铺", "tiendas junto al agua"),
                NATURAL_LIGHT,
            ),
            location=T(
                "Along the River During Qingming Festival area, main gate",
                "清明上河图景区正门",
                "Zona de «A lo largo del río durante el Festival Qingming», puerta principal",
            ),
        ),
    ),
    (
        "jiangnan-water-town",
        C.ANCIENT_STREET,
        12000,
        0,
        True,
        3000,
        100,
        texts(
            name=T("Jiangnan water town", "江南水乡", "Pueblo acuático de Jiangnan"),
            description=T(
                "Canals, stone bridges and whitewashed houses of a water town south of the Yangtze.",
                "江南水乡的河道、石桥和粉墙黛瓦的民居。",
                "Canales, puentes de piedra y casas encaladas de un pueblo acuático al sur del Yangtsé.",
            ),
            features=features(
                T("canals", "河道", "canales"),
                T("stone bridges", "石桥", "puentes de piedra"),
                T("boats", "船只", "barcas"),
                NATURAL_LIGHT,
            ),
            location=T(
                "Jiangnan water town area, entrance",
                "江南水乡景区入口",
                "Zona del pueblo acuático de Jiangnan, entrada",
            ),
        ),
    ),
    (
        "dazhi-temple",
        C.OTHER,
        9000,
        1,
        True,
        2000,
        80,
        texts(
            name=T("Dazhi Temple", "大智禅寺", "Templo Dazhi"),
            description=T(
                "A hillside Buddhist temple of halls and courtyards, often seen in period dramas.",
                "依山而建的佛教寺院，殿宇和庭院常见于古装剧。",
                "Un templo budista en la ladera, con salas y patios que aparecen a menudo en los dramas de época.",
            ),
            features=features(
                T("temple halls", "殿宇", "salas del templo"),
                T("courtyards", "庭院", "patios"),
                T("hillside steps", "山间石阶", "escalinatas en la ladera"),
            ),
            location=T("Dazhi Temple, mountain gate", "大智禅寺山门", "Templo Dazhi, puerta de la montaña"),
        ),
    ),
    (
        "ming-qing-residences",
        C.RESIDENCE,
        11000,
        1,
        True,
        8000,
        150,
        texts(
            name=T(
                "Ming-Qing Residences Museum Town", "明清民居博览城", "Ciudad museo de viviendas Ming-Qing"
            ),
            description=T(
                "Ming and Qing houses rebuilt here from across China: courtyard homes, ancestral halls and lanes.",
                "从各地迁建而来的明清古民居：合院、祠堂和小巷。",
                "Casas de las dinastías Ming y Qing reconstruidas aquí desde toda China: casas con patio, "
                "salones ancestrales y callejones.",
            ),
            features=features(
                T("courtyard houses", "合院民居", "casas con patio"),
                T("ancestral hall", "祠堂", "salón ancestral"),
                T("lanes", "小巷", "callejones"),
                NATURAL_LIGHT,
            ),
            location=T(
                "Ming-Qing Residences Museum Town, main gate",
                "明清民居博览城正门",
                "Ciudad museo de viviendas Ming-Qing, puerta principal",
            ),
        ),
    ),
]

E = Equipment.Category
EQUIPMENT = [
    # slug, category, rate, stock, texts
    (
        "vertical-camera-kit",
        E.CAMERA_KIT,
        1200,
        12,
        texts(
            name=T(
                "Vertical camera kit (9:16 cage, lenses, media)",
                "竖屏摄影机套装（9:16兔笼、镜头、存储卡）",
                "Kit de cámara vertical (jaula 9:16, objetivos, tarjetas)",
            ),
            description=T(
                "A cinema camera rigged for 9:16 in a rotating cage, with a prime lens set, media and "
                "batteries for a shoot day.",
                "装在可旋转兔笼中、按9:16配置的电影摄影机，附定焦镜头组、存储卡和够一个拍摄日使用的电池。",
                "Una cámara de cine montada para 9:16 en una jaula giratoria, con un juego de objetivos fijos, "
                "tarjetas y baterías para un día de rodaje.",
            ),
        ),
    ),
    (
        "cinema-zoom-lens",
        E.LENS,
        450,
        6,
        texts(
            name=T("Cinema zoom lens 18–55 mm", "18–55毫米电影变焦镜头", "Objetivo zoom de cine 18–55 mm"),
            description=T(
                "A parfocal cinema zoom for quick reframing between wide and medium shots.",
                "齐焦电影变焦镜头，可在全景与中景之间快速改变构图。",
                "Un zoom de cine parfocal para reencuadrar rápidamente entre planos generales y medios.",
            ),
        ),
    ),
    (
        "three-axis-gimbal",
        E.GIMBAL,
        380,
        10,
        texts(
            name=T("Three-axis gimbal", "三轴稳定器", "Estabilizador de tres ejes"),
            description=T(
                "Balanced for the vertical camera kit, for walking shots and reveals.",
                "已按竖屏摄影机套装调好平衡，适合跟拍行走和揭示镜头。",
                "Equilibrado para el kit de cámara vertical, para planos en movimiento y revelaciones.",
            ),
        ),
    ),
    (
        "led-panel-1x1",
        E.LIGHTING,
        160,
        40,
        texts(
            name=T("LED panel 1×1 bi-colour", "1×1双色温LED平板灯", "Panel LED 1×1 bicolor"),
            description=T(
                "A soft bi-colour panel, 3200–5600 K, with stand and diffusion.",
                "柔光双色温平板灯，色温3200–5600 K，附灯架和柔光布。",
                "Un panel bicolor de luz suave, 3200–5600 K, con soporte y difusor.",
            ),
        ),
    ),
    (
        "led-fresnel-300w",
        E.LIGHTING,
        260,
        16,
        texts(
            name=T("LED Fresnel 300 W", "300瓦LED菲涅尔聚光灯", "Fresnel LED de 300 W"),
            description=T(
                "A focusable hard light for sunlight through windows and night exteriors.",
                "可调焦的硬光灯，用于模拟窗外阳光和夜景外景。",
                "Una luz dura enfocable para simular el sol a través de las ventanas y para exteriores nocturnos.",
            ),
        ),
    ),
    (
        "wireless-lav-set",
        E.AUDIO,
        180,
        20,
        texts(
            name=T(
                "Wireless lavalier set (2 channels)",
                "无线领夹麦克风套装（双通道）",
                "Juego de micrófonos de solapa inalámbricos (2 canales)",
            ),
            description=T(
                "Two transmitters and a camera-mounted receiver for dialogue.",
                "两个发射器和一个可装在摄影机上的接收器，用于收录对白。",
                "Dos transmisores y un receptor montado en la cámara para los diálogos.",
            ),
        ),
    ),
    (
        "field-monitor-7",
        E.MONITOR,
        150,
        14,
        texts(
            name=T("7-inch field monitor", "7英寸现场监视器", "Monitor de campo de 7 pulgadas"),
            description=T(
                "A daylight-bright monitor that rotates for 9:16 framing.",
                "日光下也清晰可见的高亮度监视器，可旋转用于9:16构图。",
                "Un monitor de alto brillo, visible a plena luz del día, que gira para encuadrar en 9:16.",
            ),
        ),
    ),
    (
        "teleprompter",
        E.TELEPROMPTER,
        220,
        4,
        texts(
            name=T("Teleprompter", "提词器", "Teleprónter"),
            description=T(
                "A through-the-lens prompter with tablet and remote.",
                "镜前提词器，附平板电脑和遥控器。",
                "Un teleprónter de cámara con tableta y mando a distancia.",
            ),
        ),
    ),
    (
        "c-stand-kit",
        E.GRIP,
        120,
        8,
        texts(
            name=T("C-stand kit (10 stands)", "C型灯架套装（10个）", "Kit de soportes C-stand (10 soportes)"),
            description=T(
                "Ten C-stands with arms and knuckles, on a cart.",
                "十个C型灯架，附延伸臂和夹头，装在推车上。",
                "Diez soportes C-stand con brazos y rótulas, en un carro.",
            ),
        ),
    ),
    (
        "battery-power-station",
        E.POWER,
        200,
        10,
        texts(
            name=T(
                "Battery power station 2 kWh", "2千瓦时电池电源站", "Estación de energía con batería de 2 kWh"
            ),
            description=T(
                "Silent power for lights and monitors where there is no mains socket.",
                "在没有市电插座的地方为灯具和监视器静音供电。",
                "Energía silenciosa para luces y monitores donde no hay toma de corriente.",
            ),
        ),
    ),
    (
        KIT_SLUG,
        E.CAMERA_KIT,
        1700,
        0,  # a kit owns no units: its components do
        texts(
            name=T("Vertical interview package", "竖屏访谈套装", "Paquete de entrevista vertical"),
            description=T(
                "One vertical camera kit, a three-axis gimbal, two LED panels and a wireless lavalier set, "
                "booked as one line at a package rate.",
                "一套竖屏摄影机套装、一台三轴稳定器、两盏LED平板灯和一套无线领夹麦克风，作为一项以套装价预订。",
                "Un kit de cámara vertical, un estabilizador de tres ejes, dos paneles LED y un juego de "
                "micrófonos inalámbricos, reservados como una sola línea a precio de paquete.",
            ),
        ),
    ),
]

VENUE = texts(
    venue=T(
        "Hengdian International Training Centre, Dongyang",
        "东阳市横店国际培训中心",
        "Centro Internacional de Formación de Hengdian, Dongyang",
    )
)

WORKSHOPS = [
    # slug, fee, sessions (in days, length in days, language, capacity, interpretation), texts
    (
        "micro-drama-production-intensive",
        Decimal("6800"),
        [(21, 5, "en", 20, ["zh-hans", "es"]), (49, 5, "zh-hans", 24, ["en"])],
        texts(
            title=T(
                "Micro-drama production intensive",
                "短剧制作强化班",
                "Curso intensivo de producción de microdramas",
            ),
            summary=T(
                "Five days on set: how a 60-episode vertical series is planned, shot and cut in a week.",
                "在片场的五天：一部60集的竖屏短剧如何在一周内完成策划、拍摄和剪辑。",
                "Cinco días en el plató: cómo se planifica, se rueda y se monta en una semana una serie "
                "vertical de 60 episodios.",
            ),
            description=T(
                "Follow a working micro-drama crew from the script breakdown to the final cut. Each day "
                "combines a morning masterclass with an afternoon on one of Hengdian's standing sets, where "
                "participants take turns at directing, camera, lighting and continuity.",
                "跟随一个正在拍摄的短剧剧组，从剧本拆解一直到成片剪辑。每天上午是大师课，下午在横店的实景片场"
                "实践，学员轮流担任导演、摄影、灯光和场记。",
                "Acompaña a un equipo de rodaje de microdramas en activo, desde el desglose del guion hasta el "
                "montaje final. Cada día combina una clase magistral por la mañana con una tarde en uno de los "
                "decorados permanentes de Hengdian, donde los participantes se turnan en dirección, cámara, "
                "iluminación y continuidad.",
            ),
            topics=T(
                "script breakdown, vertical framing, shooting schedule, editing for mobile",
                "剧本拆解、竖屏构图、拍摄日程、手机端剪辑",
                "desglose del guion, encuadre vertical, plan de rodaje, montaje para móvil",
            ),
        ),
    ),
    (
        "acting-for-vertical-screens",
        Decimal("3200"),
        [(28, 3, "en", 16, ["es"]), (35, 3, "es", 3, [])],
        texts(
            title=T("Acting for vertical screens", "竖屏表演", "Actuación para pantallas verticales"),
            summary=T(
                "Performance, blocking and eyelines for the 9:16 frame, with working micro-drama directors.",
                "与一线短剧导演一起，学习9:16画幅中的表演、走位和视线。",
                "Interpretación, puesta en escena y direcciones de mirada para el encuadre 9:16, con directores "
                "de microdramas en activo.",
            ),
            description=T(
                "Three days of scene work in front of a vertical camera: how close-ups change a performance, "
                "how to hit marks in a narrow frame, and how to play the emotional turns a micro drama packs "
                "into each one-minute episode.",
                "三天面对竖屏摄影机的场景练习：特写如何改变表演，如何在狭窄的画幅中准确走位，以及如何演好短剧"
                "在每集一分钟里集中呈现的情感反转。",
                "Tres días de trabajo de escenas frente a una cámara vertical: cómo cambian los primeros planos "
                "una interpretación, cómo llegar a las marcas en un encuadre estrecho y cómo interpretar los "
                "giros emocionales que un microdrama concentra en cada episodio de un minuto.",
            ),
            topics=T(
                "close-up performance, blocking, eyelines, emotional turns",
                "特写表演、走位、视线、情感反转",
                "interpretación en primer plano, puesta en escena, direcciones de mirada, giros emocionales",
            ),
        ),
    ),
    (
        "open-day-hengdian-sets",
        Decimal("0"),
        [(14, 1, "en", 40, ["zh-hans"])],
        texts(
            title=T(
                "Open day: the sets of Hengdian",
                "开放日：走进横店片场",
                "Jornada de puertas abiertas: los decorados de Hengdian",
            ),
            summary=T(
                "A guided day through the palace, street and modern sets, with a booking-desk briefing.",
                "一天的导览，走遍宫殿、街景和现代场景，并由预订服务台介绍预订流程。",
                "Una jornada guiada por los decorados de palacios, calles y escenarios modernos, con una "
                "presentación del servicio de reservas.",
            ),
            description=T(
                "Walk through the Ming-Qing Palace, the Qin Palace and the Guangzhou and Hong Kong Streets "
                "with a location manager, then see the modern stages. The day ends with the booking desk "
                "explaining how crews reserve sets and equipment.",
                "在场地经理的带领下参观明清宫苑、秦王宫和广州街·香港街，再参观现代摄影棚。最后由预订服务台介绍"
                "剧组如何预订场地和器材。",
                "Recorre el Palacio Ming-Qing, el Palacio Qin y las calles de Guangzhou y Hong Kong con un jefe "
                "de localizaciones y visita después los platós modernos. La jornada termina con el servicio de "
                "reservas explicando cómo los equipos de rodaje reservan decorados y equipos.",
            ),
            topics=T(
                "palace sets, street backlots, modern stages, booking sets",
                "宫殿场景、街景外景地、现代摄影棚、场地预订",
                "decorados de palacio, exteriores de calles, platós modernos, reserva de decorados",
            ),
        ),
    ),
]


def _put_texts(model, translated: dict[str, str], *, defaults: dict, **lookup) -> int:
    """Create the row if it is missing (1), else bring its catalogue texts up to date (0).

    Only the texts are rewritten on a second run: rates, stock and dates that
    staff changed in the admin are theirs.
    """
    obj, new = model.objects.get_or_create(**lookup, defaults={**defaults, **translated})
    if not new:
        changed = [name for name, text in translated.items() if getattr(obj, name) != text]
        if changed:
            for name in changed:
                setattr(obj, name, translated[name])
            obj.save(update_fields=changed)
    return int(new)


class Command(BaseCommand):
    help = "Load demo sets, equipment, workshops and accounts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Also run when DJANGO_DEBUG is off (creates demo logins)."
        )

    @transaction.atomic
    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates logins with a known password; use --force outside development."
            )
        created = 0
        for slug, category, rate, changeover, vertical, area, crew_size, set_texts in SETS:
            created += _put_texts(
                StudioSet,
                set_texts,
                slug=slug,
                defaults={
                    "category": category,
                    "daily_rate": Decimal(rate),
                    "changeover_days": changeover,
                    "vertical_ready": vertical,
                    "area_m2": area,
                    "max_crew_size": crew_size,
                },
            )
        for slug, category, rate, stock, equipment_texts in EQUIPMENT:
            created += _put_texts(
                Equipment,
                equipment_texts,
                slug=slug,
                defaults={"category": category, "daily_rate": Decimal(rate), "stock": stock},
            )
        created += self._demo_store()
        today = timezone.localdate()
        for slug, fee, sessions, workshop_texts in WORKSHOPS:
            created += _put_texts(
                Workshop, workshop_texts, slug=slug, defaults={"fee": fee, "is_published": True}
            )
            workshop = Workshop.objects.get(slug=slug)
            for in_days, length, language, capacity, interpretation in sessions:
                starts = timezone.make_aware(datetime.combine(today + timedelta(days=in_days), time(9, 0)))
                created += _put_texts(
                    Session,
                    VENUE,
                    workshop=workshop,
                    language=language,
                    defaults={
                        "starts_at": starts,
                        "ends_at": starts + timedelta(days=length - 1, hours=8),
                        "registration_closes_at": starts - timedelta(days=7),
                        "capacity": capacity,
                        "interpretation": interpretation,
                    },
                )
        created += self._demo_staff()
        if not User.objects.filter(email=CREW_EMAIL).exists():
            crew = Crew.objects.create(
                name="Red Lantern Pictures", contact_phone="+86 571 8800 1234", country="CN"
            )
            User.objects.create_user(
                email=CREW_EMAIL,
                password=DEMO_PASSWORD,
                first_name="Line producer",
                crew=crew,
                crew_role=User.CrewRole.OWNER,
            )
            created += 1
        created += self._demo_bookings()
        created += self._demo_store_day()
        created += self._demo_enrolments()
        created += self._demo_past_session()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} rows created)."))
        self.stdout.write(f"  Crew owner:   {CREW_EMAIL} / {DEMO_PASSWORD}  (http://127.0.0.1:8000/)")
        self.stdout.write(f"  Studio desk:  {STAFF_EMAIL} / {DEMO_PASSWORD}  (booking and workshop desk)")
        self.stdout.write(
            f"  Visa desk:    {VISA_EMAIL} / {DEMO_PASSWORD}  (visa officer: passport data, letters)"
        )
        self.stdout.write(
            f"  Store:        {STORE_EMAIL} / {DEMO_PASSWORD}  (equipment store: pick-up and return)"
        )
        self.stdout.write(
            "  Staff open http://127.0.0.1:8000/admin/ with the password, then a code from an authenticator."
        )
        if settings.DEBUG:
            key = b32encode(unhexlify(DEMO_TOTP_KEY)).decode()
            self.stdout.write(f"  Demo authenticator key (time-based, both staff logins): {key}")
            self.stdout.write(
                "  or print the current code: DJANGO_DEBUG=1 .venv/bin/python manage.py demo_totp_code"
            )

    def _demo_staff(self) -> int:
        created = 0
        for email, name, role_names in DEMO_STAFF:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email, password=DEMO_PASSWORD, first_name=name, is_staff=True
                )
                created += 1
            user.groups.add(*Group.objects.filter(name__in=role_names))
            # A known authenticator only where the demo runs: in production
            # staff enrol their own device at their first log-in.
            if settings.DEBUG and not TOTPDevice.objects.filter(user=user).exists():
                TOTPDevice.objects.create(
                    user=user, name="Demo authenticator", key=DEMO_TOTP_KEY, confirmed=True
                )
        return created

    def _demo_store(self) -> int:
        """Asset-tagged units for the camera kits, gimbals and LED panels, and one kit."""
        created = 0
        for slug, prefix in TAGGED:
            kind = Equipment.objects.get(slug=slug)
            if kind.tracks_units:
                continue
            for n in range(1, kind.stock + 1):
                tag = f"{prefix}-{n:04d}"
                if not EquipmentUnit.objects.filter(asset_tag=tag).exists():
                    services.unit_add(equipment=kind, asset_tag=tag, serial_number=f"{prefix}{20250000 + n}")
                    created += 1
            services.equipment_track_units(equipment=kind, tracks=True)
        kit = Equipment.objects.get(slug=KIT_SLUG)
        for slug, quantity in KIT_COMPONENTS:
            _component, new = KitComponent.objects.get_or_create(
                kit=kit, component=Equipment.objects.get(slug=slug), defaults={"quantity": quantity}
            )
            created += int(new)
        return created

    def _demo_store_day(self) -> int:
        """A second crew shooting today, its units partly collected and its invoice paid, and last
        week's shoot with a gimbal still out and its invoice unpaid, so the store's counter page,
        the invoices and the overdue emails have something to show."""
        if User.objects.filter(email=SECOND_CREW_EMAIL).exists():
            return 0
        crew = Crew.objects.create(
            name="Silver Bamboo Media", contact_phone="+86 579 8655 2020", country="CN"
        )
        member = User.objects.create_user(
            email=SECOND_CREW_EMAIL,
            password=DEMO_PASSWORD,
            first_name="Producer",
            crew=crew,
            crew_role=User.CrewRole.OWNER,
        )
        staff = User.objects.get(email=STAFF_EMAIL)
        today = timezone.localdate()
        earlier = timezone.now() - timedelta(days=6)
        kinds = {e.slug: e for e in Equipment.objects.filter(slug__in=[s for s, _p in TAGGED] + [KIT_SLUG])}
        # Last week's shoot, over yesterday: one gimbal never came back.
        past = services.booking_request(
            crew=crew,
            studio_set=StudioSet.objects.get(slug="modern-ceo-office"),
            days=DayRange(today - timedelta(days=5), today - timedelta(days=1)),
            items=[services.ItemRequest(kinds["three-axis-gimbal"], 1)],
            by=member,
            now=earlier,
        )
        services.booking_confirm(booking=past, by=staff, now=earlier)
        services.handover_check_out(
            line=past.items.get(),
            asset_tags=["GIM-0010"],
            collected_by=member,
            by=staff,
            now=earlier + timedelta(days=1),
        )
        # Today's shoot: two camera kits and an interview package; one camera collected so far.
        shoot = services.booking_request(
            crew=crew,
            studio_set=StudioSet.objects.get(slug="hospital-ward"),
            days=DayRange(today, today + timedelta(days=2)),
            items=[
                services.ItemRequest(kinds["vertical-camera-kit"], 2),
                services.ItemRequest(kinds[KIT_SLUG], 1),
            ],
            by=member,
        )
        services.booking_confirm(booking=shoot, by=staff)
        line = shoot.items.get(equipment=kinds["vertical-camera-kit"])
        services.handover_check_out(line=line, asset_tags=["CAM-0012"], collected_by=member, by=staff)
        # Today's shoot is paid in full (deposit, then the rest); last week's was never paid: overdue.
        invoice = shoot.plan.invoices.get()
        for amount, method in (
            (invoice.deposit, "bank_transfer"),
            (invoice.total - invoice.deposit, "wechat_pay"),
        ):
            services.payment_record(
                invoice=invoice,
                amount=amount,
                paid_on=today,
                method=method,
                payer_reference=f"{invoice.number} Silver Bamboo Media",
                by=staff,
            )
        return 3

    def _demo_enrolments(self) -> int:
        """Fill the small Spanish-language session, so its waiting list can be tried: two places
        paid, the third awaiting payment (offered to the next person waiting if it stays unpaid).

        Its visa lead time has begun (set to six weeks for the demo): of the two people waiting,
        the first needs a visa letter, so a freed place is offered to the second.
        """
        session = (
            Session.objects.select_related("workshop")
            .filter(workshop__slug="acting-for-vertical-screens", language="es")
            .first()
        )
        if session is None or session.enrolments.exists():
            return 0
        session.visa_lead_days = 42
        session.save(update_fields=["visa_lead_days", "updated_at"])
        now = timezone.now()
        today = timezone.localdate(now)
        desk = User.objects.get(email=STAFF_EMAIL)
        people = session.capacity + 2
        for n in range(1, people + 1):
            waiting = n > session.capacity
            needs_visa = n == session.capacity + 1
            enrolment = Enrolment(
                session=session,
                full_name=f"Demo participant {n}",
                email=f"participant{n}@example.org",
                country_of_residence="MX",
                nationality="MX",
                role=Enrolment.Role.ACTOR,
                language="es",
                consented_at=now,
                status=Enrolment.Status.WAITLISTED if waiting else Enrolment.Status.CONFIRMED,
                waitlist_order=n - session.capacity if waiting else None,
                confirmed_at=None if waiting else now,
                needs_visa_letter=needs_visa,
                passport_number="G40000000" if needs_visa else "",
                passport_expiry=today + timedelta(days=3000) if needs_visa else None,
                date_of_birth=today - timedelta(days=11000) if needs_visa else None,
            )
            if not waiting:
                workshop_fees.charge_fee(enrolment, session=session, now=now)
            enrolment.save()
            if not waiting and n < session.capacity:
                workshop_services.place_payment_record(
                    enrolment=enrolment,
                    amount=enrolment.fee,
                    paid_on=today,
                    method=PlacePayment.Method.BANK_TRANSFER,
                    payer_reference=f"Transfer {enrolment.payment_reference}",
                    by=desk,
                )
        return people

    def _demo_past_session(self) -> int:
        """A session of the intensive that ended last week: who came on which day, and the
        certificates of attendance it earned (four of five days, at the default 80 %)."""
        workshop = Workshop.objects.get(slug="micro-drama-production-intensive")
        now = timezone.now()
        if workshop.sessions.filter(ends_at__lt=now).exists():
            return 0
        first = timezone.localdate(now) - timedelta(days=12)
        starts = timezone.make_aware(datetime.combine(first, time(9, 0)))
        session = Session.objects.create(
            workshop=workshop,
            starts_at=starts,
            ends_at=starts + timedelta(days=4, hours=8),
            registration_closes_at=starts - timedelta(days=7),
            capacity=12,
            # Not the language of the intensive's coming sessions, which the seed finds by it.
            language=Session.Language.SPANISH,
            interpretation=["en", "zh-hans"],
            **VENUE,
        )
        desk = User.objects.get(email=STAFF_EMAIL)
        people = [
            ("Thandiwe Mokoena", "ZA", 5),
            ("Mariana López Hernández", "MX", 4),
            ("Nikola Petrović", "RS", 3),  # three of five days: no certificate
        ]
        confirmed_at = starts - timedelta(days=30)
        for n, (name, country, days) in enumerate(people, start=1):
            enrolment = Enrolment(
                session=session,
                full_name=name,
                email=f"past-participant{n}@example.org",
                country_of_residence=country,
                nationality=country,
                role=Enrolment.Role.DIRECTOR,
                language="es" if country == "MX" else "en",
                consented_at=confirmed_at,
                status=Enrolment.Status.CONFIRMED,
                confirmed_at=confirmed_at,
            )
            workshop_fees.charge_fee(enrolment, session=session, now=confirmed_at)
            enrolment.paid_at = confirmed_at
            enrolment.save()
            PlacePayment.objects.create(
                enrolment=enrolment,
                amount=enrolment.fee,
                paid_on=timezone.localdate(confirmed_at),
                method=PlacePayment.Method.BANK_TRANSFER,
                payer_reference=f"Transfer {enrolment.payment_reference}",
                recorded_by=desk,
            )
            for day in range(days):
                moment = starts + timedelta(days=day, minutes=-10 + n)
                Attendance.objects.create(
                    enrolment=enrolment,
                    day=timezone.localdate(moment),
                    checked_in_at=moment,
                    checked_in_by=desk,
                )
        workshop_services.certificates_issue_due(now=now)
        return 1 + len(people)

    def _demo_bookings(self) -> int:
        """A confirmed and a requested booking, and a change asked for the confirmed one, so calendars,
        the occupancy page and the desk's decisions show something."""
        member = User.objects.get(email=CREW_EMAIL)
        if member.crew.bookings.exists():
            return 0
        staff = User.objects.get(email=STAFF_EMAIL)
        today = timezone.localdate()
        monday = today + timedelta(days=7 - today.weekday())
        cameras = services.ItemRequest(Equipment.objects.get(slug="vertical-camera-kit"), 2)
        gimbal = services.ItemRequest(Equipment.objects.get(slug="three-axis-gimbal"), 1)
        plan = services.shoot_plan_request(
            crew=member.crew,
            parts=[
                services.SetRequest(
                    StudioSet.objects.get(slug="ming-qing-palace-hall"),
                    DayRange(monday, monday + timedelta(days=2)),
                    [gimbal],
                ),
                services.SetRequest(
                    StudioSet.objects.get(slug="hong-kong-street-1980s"),
                    DayRange(monday + timedelta(days=3), monday + timedelta(days=6)),
                ),
            ],
            # The cameras travel with the crew from set to set.
            items=[cameras],
            by=member,
            notes="Episodes 1-12: palace scenes first, then the street.",
        )
        palace = services.booking_confirm(
            booking=plan.bookings.order_by("start_date").first(),
            by=staff,
            reason="Palace hall confirmed; the set dresser meets you at 07:00.",
        )
        # The crew asks for one more palace day, waiting for the desk: the change beside the booking.
        services.booking_change(
            booking=palace,
            change=services.BookingChange(
                palace.studio_set,
                DayRange(palace.start_date - timedelta(days=1), palace.end_date),
                [gimbal],
                palace.notes,
            ),
            by=member,
        )
        return plan.bookings.count()
