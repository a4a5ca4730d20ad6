"""Contacts: personal data customers give in their messages, merged per customer.

CPF, e-mail, phone and CEP are found by the validators (check digits, real area
codes); names and addresses by the private LLM, each value cross-checked
against the message. Nothing is kept unless the customer's consent is in force.

- :mod:`~atende.contacts.capture` — finding and merging values from messages.
- :mod:`~atende.contacts.search` — looking up and browsing (paged, audited),
  CPFs masked by role.
- :mod:`~atende.contacts.export` — the whole tenant's spreadsheet, by download.
- :mod:`~atende.contacts.spreadsheet` — the sheet itself.
"""

from atende.contacts.capture import (
    ContactKind,
    Found,
    capture_from_message,
    capture_names_and_addresses,
    capture_with_llm,
    found_by_validators,
    merge,
)
from atende.contacts.export import OfferedExport, export_xlsx, offer_xlsx
from atende.contacts.search import (
    MAX_PAGE,
    ContactRow,
    ContactsPage,
    ContactValue,
    CustomerContacts,
    SearchRequired,
    SearchTooBroad,
    SearchTooShort,
    contact_values,
    cpf_visible_to,
    iter_contact_rows,
    list_contacts,
    search_contacts,
)
from atende.validators import mask_cpf

__all__ = [
    "MAX_PAGE",
    "ContactKind",
    "ContactRow",
    "ContactValue",
    "ContactsPage",
    "CustomerContacts",
    "Found",
    "OfferedExport",
    "SearchRequired",
    "SearchTooBroad",
    "SearchTooShort",
    "capture_from_message",
    "capture_names_and_addresses",
    "capture_with_llm",
    "contact_values",
    "cpf_visible_to",
    "export_xlsx",
    "found_by_validators",
    "iter_contact_rows",
    "list_contacts",
    "mask_cpf",
    "merge",
    "offer_xlsx",
    "search_contacts",
]
