"""The sellers of the document tests: their details as e-invoices need them."""

SELLER = {"legal_name": "Acme Trading GmbH", "vat_number": "DE123456789", "street": "Hauptstrasse 1",
          "city": "Berlin", "postal_code": "10115", "country": "DE", "email": "billing@acme.example"}

SAUDI_SELLER = {"legal_name": "شركة أكمي للتجارة", "vat_number": "310122393500003", "street": "الامير سلطان",
                "building_number": "2111", "district": "Al Olaya", "city": "Riyadh", "postal_code": "11564",
                "registration_scheme": "CRN", "registration_number": "1010010000", "language": "ar"}

MALAYSIAN_SELLER = {"legal_name": "SnR2U Sdn Bhd", "vat_number": "C25845632020", "registration_scheme": "BRN",
                    "registration_number": "202001234567", "activity_code": "47190",
                    "activity": "Other retail sale in non-specialized stores", "street": "Jalan Ampang 1",
                    "city": "Kuala Lumpur", "postal_code": "50450", "region": "14", "phone": "+60312345678",
                    "email": "einvoice@snr2u.example", "language": "ms"}
