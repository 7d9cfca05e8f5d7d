from streams import types
from textpeak.accounts.models import Feature


@types.register
class WhatsAppStreamType(types.StreamType):
    slug = "whatsapp"
    name = "WhatsApp"
    description = (
        "Send template, media and reply messages through Meta's WhatsApp Cloud API, "
        "and receive your customers' replies on your webhook."
    )
    beta_feature = Feature.WHATSAPP_STREAMS
