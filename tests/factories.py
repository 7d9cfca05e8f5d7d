import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from factory.django import DjangoModelFactory

from streams.models import Stream, Tag
from tests.whatsapp.fixtures import CONTACT, OUR_NUMBER, OUT_WAMID, PHONE_NUMBER_ID
from textpeak.accounts.models import Account, Member, User
from whatsapp.models import Message

PASSWORD = "correct-horse-battery"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.LazyFunction(lambda: make_password(PASSWORD))


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")


class MemberFactory(DjangoModelFactory):
    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory)
    role = Member.Role.MEMBER


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class StreamFactory(DjangoModelFactory):
    class Meta:
        model = Stream
        skip_postgeneration_save = True

    account = factory.SubFactory(AccountFactory)
    type = "whatsapp"
    name = factory.Sequence(lambda n: f"Stream {n}")
    status = Stream.Status.READY

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)


class SentMessageFactory(DjangoModelFactory):
    """A text message a stream sent and WhatsApp accepted, under the wamid that Meta's
    fixtures (``tests/whatsapp/fixtures``) answer, react to and report statuses of."""

    class Meta:
        model = Message

    stream = factory.SubFactory(StreamFactory)
    direction = Message.Direction.OUTBOUND
    sender_number = OUR_NUMBER
    phone_number_id = PHONE_NUMBER_ID
    contact_number = CONTACT
    type = "text"
    payload = factory.Dict({"body": "Your order is on its way", "preview_url": False})
    status = Message.Status.SENT
    wamid = OUT_WAMID
    sent_at = factory.LazyFunction(timezone.now)


# The app secret of the real streams ``whatsapp_stream`` makes.
APP_SECRET = "factory-app-secret"


def whatsapp_stream(*, account, fake_graph=None, **fields) -> Stream:
    """A Ready WhatsApp stream set up through the wizard's services: on the fake Graph API's
    business when given one (sender 15550001111), else a Demo Sending stream (15550100100)."""
    from whatsapp import services
    from whatsapp.graph.demo import DEMO_BUSINESS_ID

    fields = {"name": "Orders", "setup_progress": 4, **fields}
    if fake_graph is None:
        stream = StreamFactory(account=account, is_demo=True, **fields)
        whatsapp = services.whatsapp_settings_save(stream=stream, business_id=DEMO_BUSINESS_ID)
    else:
        stream = StreamFactory(account=account, **fields)
        whatsapp = services.whatsapp_settings_save(
            stream=stream,
            business_id=fake_graph.business.waba_id,
            access_token=fake_graph.business.token,
            # A real stream is Ready only with its app secret.
            app_secret=APP_SECRET,
        )
    services.whatsapp_account_refresh(account=whatsapp)
    return stream


def contact_wrote(stream, number: str, at=None) -> None:
    """The contact wrote to the stream (now, unless ``at``): their service window is open, as
    a message received would open it."""
    from whatsapp.service_window import contacts_wrote

    contacts_wrote(stream=stream, written=[(number, at or timezone.now())])


def grant_whatsapp_access(account) -> None:
    """The account approved for WhatsApp streams through the real services, unless it is
    already: what a stream that sends needs."""
    from textpeak.accounts import beta

    feature = beta.Feature.WHATSAPP_STREAMS
    if beta.has_access(account=account, feature=feature):
        return
    access_request, _ = beta.beta_access_request(
        account=account, feature=feature, user=UserFactory()
    )
    reviewer = UserFactory(is_staff=True)
    beta.beta_access_review(request_ids=[access_request.id], reviewer=reviewer, approve=True)
