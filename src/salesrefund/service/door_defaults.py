"""What a new door credential is configured with unless told otherwise (issue 10: moved here from
``seeds`` so the service does not reach up to the demo data; the demo's door tenants use the same):
CRM.COM's organisation, refund types and methods, BeansBooks' taxes and accounts, Vodo's VAT rate."""

from __future__ import annotations

CRMCOM_ORGANISATION = "CRMDEMO"
CRMCOM_ACCOUNT = "ACR0000001"
# The organisation's configuration, kept in the door credential's settings (CRM.COM-style ids).
CASH_ID = "9A1F0C6E2B7D4E5F8A3B1C2D3E4F5A60"
CARD_ID = "9A1F0C6E2B7D4E5F8A3B1C2D3E4F5A61"
BANK_ID = "9A1F0C6E2B7D4E5F8A3B1C2D3E4F5A62"
REFUND_TYPE_ID = "5C3D2E1F0A9B8C7D6E5F4A3B2C1D0E01"
GENERAL_ID = "7E6D5C4B3A29180F7E6D5C4B3A291801"
VISA_PREFERENCE_ID = "3B4C5D6E7F8091A2B3C4D5E6F708192A"


def crmcom_settings(organisation: str = CRMCOM_ORGANISATION, account: str = CRMCOM_ACCOUNT) -> dict:
    return {
        "organisation": organisation,
        "units": ["Head Office"],
        "types": [{"id": REFUND_TYPE_ID, "name": "Refund", "alternative_code": "RF", "default_method": CASH_ID}],
        "methods": [
            {"id": CASH_ID, "name": "Cash", "alternative_code": "CA", "payment_method": "cash", "gateway": False},
            {"id": CARD_ID, "name": "Card", "alternative_code": "CC", "payment_method": "card", "gateway": True},
            {"id": BANK_ID, "name": "Bank Transfer", "alternative_code": "BT", "payment_method": "bank",
             "gateway": False},
        ],
        "categories": [{"id": GENERAL_ID, "name": "General", "alternative_code": "GEN"}],
        "payment_preferences": [{"id": VISA_PREFERENCE_ID, "name": "Visa ending 4242", "alternative_code": "VISA4242",
                                 "customer": account}],
    }


BEANSBOOKS_AUTH_EXPIRATION = 1700000000
TAX_ID = 1
TAX_PERCENT = "8.25"
RECEIVABLE_ACCOUNT_ID = 1
INCOME_ACCOUNT_ID = 2


def beansbooks_settings(auth_expiration: int = BEANSBOOKS_AUTH_EXPIRATION) -> dict:
    """The door credential's BeansBooks configuration."""
    return {"auth_expiration": auth_expiration,
            "taxes": {str(TAX_ID): {"name": "Sales Tax", "code": "salestax1", "percent": TAX_PERCENT}},
            "receivable_account_id": RECEIVABLE_ACCOUNT_ID, "income_account_id": INCOME_ACCOUNT_ID}


VODO_VAT_RATE = "15"
