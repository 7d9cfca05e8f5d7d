"""Which graph a stream's calls go to: the Cloud API client, or the demo stand-in."""

from whatsapp.graph.client import CloudAPIClient
from whatsapp.graph.demo import DemoGraph
from whatsapp.models import WhatsAppAccount


def graph_for(account: WhatsAppAccount) -> CloudAPIClient | DemoGraph:
    if account.stream.is_demo:
        return DemoGraph()
    return CloudAPIClient(account.access_token())
