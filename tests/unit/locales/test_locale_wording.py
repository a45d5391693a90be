"""What each language's notice says: the law it cites by its proper name, who sends it and why the recipient gets
it, the requests, deadline and signature -- and that page data stays data in every language."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from takedown.model import Recipient
from takedown.notices.drafting import render_addressing, render_notice, render_notice_body

from ..notices.html_probe import HtmlProbe
from .conftest import EVIDENCE_SHA256, HOSTILE, JURISDICTIONS, LOCALES, MEDIA_SHA256, ROLES
from .notice_text import paragraphs, section

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from takedown.notices.drafting import NoticeFacts

    MakeFacts = Callable[..., NoticeFacts]

# The legal-basis section names each law as a lawyer reading that language expects: the official name where one
# exists in the language, otherwise a translation with the original name; and it states what the law requires.
LEGAL_BASIS_WORDS: dict[str, dict[str, list[str]]] = {
    "KR": {
        "en": ["Article 22-5(1) of the Telecommunications Business Act", "KRW 100 million", "3%"],
        "ko": ["「전기통신사업법」 제22조의5제1항", "1억 원", "100분의 3"],
        "ja": [
            "電気通信事業法（전기통신사업법）第22条の5第1項",
            "3年以下の懲役",
            "1億ウォン",
            "100分の3",
            "登録の取消し",
        ],
        "zh-Hans": [
            "《电信事业法》（전기통신사업법）第22条之5第1款",
            "三年以下有期徒刑",
            "一亿韩元",
            "百分之三",
            "撤销登记",
        ],
        "zh-Hant": [
            "《電信事業法》（전기통신사업법）第22條之5第1項",
            "三年以下有期徒刑",
            "一億韓元",
            "百分之三",
            "撤銷其登記",
        ],
        "ru": [
            "части 1 статьи 22-5 Закона Республики Корея «О телекоммуникационном бизнесе» (전기통신사업법)",
            "до трёх лет",
            "100 млн вон",
            "3 %",
            "аннулирование регистрации",
        ],
        "vi": [
            "khoản 1 Điều 22-5 Luật Kinh doanh Viễn thông của Đại Hàn Dân Quốc (전기통신사업법)",
            "tù đến ba năm",
            "100 triệu won",
            "3%",
            "hủy bỏ đăng ký",
        ],
        "th": [
            "มาตรา 22-5 วรรคหนึ่ง แห่งพระราชบัญญัติธุรกิจโทรคมนาคมของสาธารณรัฐเกาหลี (전기통신사업법)",
            "จำคุกไม่เกินสามปี",
            "100 ล้านวอน",
            "ร้อยละ 3",
            "เพิกถอนการจดทะเบียน",
        ],
        "id": [
            "Pasal 22-5 ayat (1) Undang-Undang Usaha Telekomunikasi Republik Korea (전기통신사업법)",
            "paling lama tiga tahun",
            "KRW 100 juta",
            "3%",
            "pencabutan pendaftarannya",
        ],
        "es": [
            "artículo 22-5, apartado 1, de la Ley de Actividades de Telecomunicaciones de la República de Corea"
            " (전기통신사업법)",
            "hasta tres años",
            "100 millones de wones",
            "3 %",
            "cancelación de su registro",
        ],
    },
    "US": {
        "en": ["TAKE IT DOWN Act", "48 hours", "identical copies", "Federal Trade Commission"],
        "ko": ["TAKE IT DOWN Act", "48시간", "동일 사본", "연방거래위원회"],
        "ja": ["TAKE IT DOWN Act", "48時間", "同一の複製", "連邦取引委員会（FTC）"],
        "zh-Hans": ["TAKE IT DOWN Act", "48小时", "相同副本", "联邦贸易委员会（FTC）"],
        "zh-Hant": ["TAKE IT DOWN Act", "48小時", "相同複本", "聯邦貿易委員會（FTC）"],
        "ru": ["TAKE IT DOWN Act", "48 часов", "идентичных копий", "Федеральная торговая комиссия США (FTC)"],
        "vi": ["TAKE IT DOWN Act", "48 giờ", "bản sao giống hệt", "Ủy ban Thương mại Liên bang Hoa Kỳ (FTC)"],
        "th": ["TAKE IT DOWN Act", "48 ชั่วโมง", "สำเนาที่เหมือนกัน", "คณะกรรมาธิการการค้าแห่งสหพันธรัฐ (FTC)"],
        "id": ["TAKE IT DOWN Act", "48 jam", "salinan identik", "Komisi Perdagangan Federal (FTC)"],
        "es": ["TAKE IT DOWN Act", "48 horas", "copias idénticas", "Comisión Federal de Comercio (FTC)"],
    },
    "EU": {
        "en": ["Article 16", "2022/2065", "Article 6", "actual knowledge", "2024/1385"],
        "ko": ["「디지털서비스법」", "2022/2065", "제6조", "실제 인식", "2024/1385"],
        "ja": [
            "デジタルサービス法（規則 (EU) 2022/2065、Digital Services Act）第16条",
            "第6条",
            "現実の認識",
            "2024/1385",
        ],
        "zh-Hans": [
            "《数字服务法》（Regulation (EU) 2022/2065",
            "第16条",
            "该条第2款",
            "第6条",
            "实际知悉",
            "2024/1385",
        ],
        "zh-Hant": [
            "《數位服務法》（Regulation (EU) 2022/2065",
            "第16條",
            "該條第2項",
            "第6條",
            "實際知悉",
            "2024/1385",
        ],
        "ru": [
            "статьёй 16 Регламента (ЕС) 2022/2065 о цифровых услугах",
            "статьи 6",
            "фактическую осведомлённость",
            "Директивы (ЕС) 2024/1385",
        ],
        "vi": [
            "Điều 16 của Đạo luật Dịch vụ Kỹ thuật số của Liên minh châu Âu (Quy định (EU) 2022/2065",
            "Điều 6",
            "biết rõ trên thực tế",
            "Chỉ thị (EU) 2024/1385",
        ],
        "th": [
            "มาตรา 16 แห่งกฎหมายว่าด้วยบริการดิจิทัลของสหภาพยุโรป (Digital Services Act – ระเบียบ (EU) 2022/2065)",
            "มาตรา 6",
            "การรู้ข้อเท็จจริงอย่างแท้จริง",
            "2024/1385",
        ],
        "id": [
            "Pasal 16 Undang-Undang Layanan Digital Uni Eropa (Digital Services Act, Regulation (EU) 2022/2065)",
            "Pasal 6",
            "pengetahuan aktual",
            "Direktif (UE) 2024/1385",
        ],
        "es": [
            "artículo 16 del Reglamento (UE) 2022/2065 (Reglamento de Servicios Digitales)",
            "conocimiento efectivo a efectos del artículo 6",
            "prestador diligente",
            "Directiva (UE) 2024/1385",
        ],
    },
    "OTHER": {
        "en": ["terms of service", "acceptable-use policy"],
        "ko": ["이용약관", "이용 정책"],
        "ja": ["利用規約", "利用ポリシー"],
        "zh-Hans": ["服务条款", "可接受使用政策"],
        "zh-Hant": ["服務條款", "可接受使用政策"],
        "ru": ["условиями обслуживания", "правилами допустимого использования"],
        "vi": ["điều khoản dịch vụ", "chính sách sử dụng được chấp nhận"],
        "th": ["ข้อกำหนดการให้บริการ", "นโยบายการใช้งานที่ยอมรับได้"],
        "id": ["ketentuan layanan", "kebijakan penggunaan yang dapat diterima"],
        "es": ["condiciones de servicio", "política de uso aceptable"],
    },
}
# How each language says "the sender acts as the authorised representative" (absent from an institution's notice).
REPRESENTATIVE = {
    "en": "authorised representative",
    "ko": "위임받은 대리인",
    "ja": "委任を受けた代理人",
    "zh-Hans": "授权代理人",
    "zh-Hant": "受任代理人",
    "ru": "уполномоченного представителя",
    "vi": "người đại diện được ủy quyền",
    "th": "ผู้แทนที่ได้รับมอบอำนาจ",
    "id": "kuasa yang sah",
    "es": "representante autorizado",
}
# How each language tells the recipient why it, in its role, receives the notice.
WHY_YOU = {
    "en": "You receive this notice as",
    "ko": "본 요청을 받으십니다",
    "ja": "宛てにお送りするものです",
    "zh-Hans": "特向贵方发送本通知",
    "zh-Hant": "特此向貴方發送本通知",
    "ru": "Настоящее уведомление направлено Вам как",
    "vi": "Quý đơn vị nhận được thông báo này với tư cách là",
    "th": "ท่านได้รับหนังสือฉบับนี้ในฐานะ",
    "id": "Anda menerima pemberitahuan ini sebagai",
    "es": "Reciben esta notificación en su condición de",
}
# How each language says "in good faith" in the closing statement.
GOOD_FAITH = {
    "en": "in good faith",
    "ko": "선의로",
    "ja": "誠実な信念に基づき",
    "zh-Hans": "善意声明",
    "zh-Hant": "善意聲明",
    "ru": "добросовестно заявляем",
    "vi": "tuyên bố với thiện chí",
    "th": "แถลงโดยสุจริต",
    "id": "dengan iktikad baik",
    "es": "de buena fe",
}


def test_the_tables_cover_every_language() -> None:
    tables: list[Mapping[str, object]] = [*LEGAL_BASIS_WORDS.values(), REPRESENTATIVE, WHY_YOU, GOOD_FAITH]
    for table in tables:
        assert set(table) == set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_the_legal_basis_names_the_law_and_what_it_requires(
    make_facts: MakeFacts, templates: Path, locale: str, jurisdiction: str
) -> None:
    # WHEN a notice is drafted for an operator under this jurisdiction
    draft = render_notice(make_facts(jurisdiction=jurisdiction), locale, templates)
    # THEN section 3 cites the law by its name in this language and states what it requires
    legal_basis = section(draft.body_text, 3)
    for phrase in LEGAL_BASIS_WORDS[jurisdiction][locale]:
        assert phrase in legal_basis, phrase
    # AND no other jurisdiction's law is cited there
    for other in JURISDICTIONS:
        if other != jurisdiction:
            assert LEGAL_BASIS_WORDS[other][locale][0] not in legal_basis, other


@pytest.mark.parametrize("locale", LOCALES)
def test_the_senders_capacity_is_stated(make_facts: MakeFacts, templates: Path, locale: str) -> None:
    institution = render_notice_body(make_facts(), locale, templates).body_text
    representative = render_notice_body(
        make_facts(sender_capacity_key="authorised_representative"), locale, templates
    ).body_text
    assert REPRESENTATIVE[locale] in representative and REPRESENTATIVE[locale] not in institution
    # the opening paragraph differs, and says who writes
    assert paragraphs(institution)[2] != paragraphs(representative)[2]
    assert "Seoul Digital Sex Crime Victim Support Centre" in paragraphs(institution)[2]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_recipient_role_is_told_why_it_receives_the_notice(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    # GIVEN the same case addressed to each kind of recipient
    why_by_role, to_by_role, bodies = {}, {}, set()
    for role in ROLES:
        recipient = Recipient(
            address="abuse@provider.example", role=role, found_at="RDAP abuse contact", confidence=0.8
        )
        facts = make_facts(recipient=recipient)
        block = render_addressing(facts, locale, templates)
        # THEN its addressing block names that recipient in its capacity, says why it in particular receives
        # the notice, and where its address was found
        to_by_role[role], why_by_role[role] = paragraphs(block.text)
        assert "abuse@provider.example" in to_by_role[role]
        assert WHY_YOU[locale] in why_by_role[role], role
        assert "RDAP abuse contact" in why_by_role[role]
        assert block.locale == locale and block.recipient == recipient
        # AND the recipient's message is that block followed by the body
        body = render_notice_body(facts, locale, templates)
        assert render_notice(facts, locale, templates).body_text == f"{block.text}\n{body.body_text}"
        bodies.add(body.body_text)
    # AND each role gets its own wording, while the body is one and the same for all and names nobody
    assert len(set(why_by_role.values())) == len(set(to_by_role.values())) == len(ROLES)
    assert len(bodies) == 1
    assert "abuse@provider.example" not in bodies.pop()


@pytest.mark.parametrize("locale", LOCALES)
def test_a_case_without_a_recipient_address_drafts_without_the_to_line(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    nobody = Recipient(address="", role="unknown", found_at="not found", confidence=0.0)
    draft = render_notice(make_facts(recipient=nobody), locale, templates)
    header = paragraphs(draft.body_text)[0].splitlines()
    assert len(header) == 3  # subject, case reference, sender
    assert "not found" not in draft.body_text


@pytest.mark.parametrize("locale", LOCALES)
def test_four_distinct_requests_the_last_quoting_the_case(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    facts = make_facts()
    actions = section(render_notice(facts, locale, templates).body_text, 4)
    items = re.findall(r"^\s*(\d)\) (.+)$", actions, re.M)
    assert [number for number, _ in items] == ["1", "2", "3", "4"]
    assert len({text for _, text in items}) == 4
    assert facts.case_id in items[3][1]
    assert "SHA-256" in items[1][1] and "IP" in items[2][1]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_good_faith_statement_and_signature_close_every_notice(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    for jurisdiction in JURISDICTIONS:
        facts = make_facts(jurisdiction=jurisdiction)
        body = render_notice(facts, locale, templates).body_text
        closing = paragraphs(body)[-3 if jurisdiction == "US" else -2 :]
        assert GOOD_FAITH[locale] in closing[0]
        assert closing[1].splitlines()[0] == facts.centre_name
        assert closing[1].splitlines()[-1] == facts.centre_email
        # only the TAKE IT DOWN Act asks for a signature: an /s/ electronic signature on behalf of the person
        assert ("/s/ " in body) == (jurisdiction == "US")


@pytest.mark.parametrize("locale", LOCALES)
def test_a_reupload_is_called_out_in_subject_and_body(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    first = render_notice(make_facts(), locale, templates)
    again = render_notice(make_facts(reupload=True), locale, templates)
    marker = again.subject[: len(again.subject) - len(first.subject)]
    assert marker.strip() and again.subject.endswith(first.subject)
    assert len(paragraphs(again.body_text)) == len(paragraphs(first.body_text)) + 1


@pytest.mark.parametrize(
    ("locale", "hours", "words"),
    [
        ("ru", 1, "1 часа"),
        ("ru", 21, "21 часа"),
        ("ru", 11, "11 часов"),
        ("ru", 24, "24 часов"),
        ("ru", 48, "48 часов"),
        ("es", 1, "1 hora"),
        ("es", 24, "24 horas"),
        ("ja", 24, "24時間"),
        ("th", 72, "72 ชั่วโมง"),
    ],
)
def test_the_deadline_counts_hours_in_the_languages_grammar(
    make_facts: MakeFacts, templates: Path, locale: str, hours: int, words: str
) -> None:
    for jurisdiction in JURISDICTIONS:
        deadline = section(
            render_notice(
                make_facts(jurisdiction=jurisdiction, deadline_hours=hours), locale, templates
            ).body_text,
            5,
        )
        # the number with its unit, not part of a longer number or word ("21 часа", not "1 часа" in it; "hora",
        # not "horas"); scripts without spaces between words may be followed by anything
        assert re.search(rf"(?<!\d){re.escape(words)}(?![a-zа-яё])", deadline, re.I), (jurisdiction, deadline)


# --- page data stays data, in every language ---------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_every_notice_states_the_facts_in_text_and_html(
    make_facts: MakeFacts, templates: Path, locale: str, jurisdiction: str
) -> None:
    # GIVEN the facts of a case
    facts = make_facts(jurisdiction=jurisdiction, deadline_hours=48 if jurisdiction == "US" else 24)
    # WHEN the notice is rendered
    draft = render_notice(facts, locale, templates)
    page = HtmlProbe(draft.body_html)
    shown = page.visible_text
    # THEN both bodies carry every URL, time, digest and address
    for fact in [
        facts.case_id,
        facts.page_url,
        *facts.media_urls,
        "2026-11-28 07:25 UTC",
        facts.evidence_key,
        EVIDENCE_SHA256,
        MEDIA_SHA256,
        facts.centre_email,
        facts.centre_name,
        str(facts.deadline_hours),
    ]:
        assert fact in draft.body_text, fact
        assert fact in shown, fact
    # AND the HTML is one self-contained block in its language: no image, script, asset or link to the content
    assert page.tags("img") == [] and page.tags("script") == [] and page.tags("link") == []
    assert "src=" not in draft.body_html and "url(" not in draft.body_html
    assert [a.attrs["href"] for a in page.tags("a")] == [f"mailto:{facts.centre_email}"]
    assert page.elements[0].tag == "div" and page.elements[0].attrs["lang"] == locale


@pytest.mark.parametrize("locale", LOCALES)
def test_hostile_page_urls_are_shown_encoded_and_never_evaluated(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    # GIVEN a page URL and a media URL carrying markup, template syntax, CR/LF and an RTL override
    facts = make_facts(
        page_url=f"https://board.site.example/view?title={HOSTILE}",
        media_urls=[f"https://cdn.site.example/{HOSTILE}.jpg"],
    )
    # WHEN the notice is rendered
    draft = render_notice(facts, locale, templates)
    page = HtmlProbe(draft.body_html)
    # THEN nothing was evaluated and nothing can break a line, inject markup or reverse text
    encoded = "%3Cscript%3Ealert(1)%3C/script%3E{{%207*7%20}}{%%20raw%20%}%0D%0ABcc:%20attacker@evil.test%E2%80%AEgnp.exe"
    for body in (draft.body_text, page.visible_text):
        assert f"https://board.site.example/view?title={encoded}" in body
        assert f"https://cdn.site.example/{encoded}.jpg" in body
        assert "\r" not in body and "\u202e" not in body
        assert "{{ 7*7 }}" not in body
        assert "\nBcc:" not in body
    assert page.tags("script") == [] and "<script" not in draft.body_html
    assert "\r" not in draft.subject and "\n" not in draft.subject


@pytest.mark.parametrize("locale", LOCALES)
def test_hostile_recipient_details_are_escaped_and_marked(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    recipient = Recipient(
        address="abuse@site.example", role="site", found_at=f"mailto link titled {HOSTILE}", confidence=0.7
    )
    draft = render_notice(make_facts(recipient=recipient), locale, templates)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}{% raw %}[U+000D][U+000A]Bcc" in draft.body_html
    assert "<script>alert(1)</script>{{ 7*7 }}{% raw %}[U+000D][U+000A]Bcc" in draft.body_text
    assert "[U+202E]gnp.exe" in draft.body_text
    assert "\u202e" not in draft.body_html + draft.body_text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_text_and_html_say_the_same_words(
    make_facts: MakeFacts, templates: Path, locale: str, jurisdiction: str
) -> None:
    # GIVEN both bodies of a notice
    draft = render_notice(make_facts(jurisdiction=jurisdiction, reupload=True), locale, templates)
    shown = " ".join(HtmlProbe(draft.body_html).visible_text.split())
    # THEN every prose line of the text body appears in the HTML body
    label_line = re.compile(r"^\s*[^:\s][^:]{0,40}: ")  # "From: ...": label and value sit in separate cells
    lines = [line for line in draft.body_text.splitlines() if len(line) > 40 and not label_line.match(line)]
    prose = [re.sub(r"^\s*\d+\) ", "", line).strip() for line in lines]
    assert len(prose) >= 10
    for line in prose:
        assert " ".join(line.split()) in shown, line
