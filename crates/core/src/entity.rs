use std::{fmt, str::FromStr};

use crate::{Classification, CoreError};

macro_rules! entities {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, $class:ident; )*) => {
        /// A kind of personal data, named as Presidio names it so users can switch tools
        /// without relabelling their data.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum EntityType {
            $( $(#[$doc])* $variant, )*
        }

        impl EntityType {
            /// Every entity type, in a stable order.
            pub const ALL: &'static [EntityType] = &[ $( EntityType::$variant, )* ];

            /// The Presidio-compatible name (`EMAIL_ADDRESS`).
            pub fn name(self) -> &'static str {
                match self { $( EntityType::$variant => $name, )* }
            }

            /// The classification a column holding mostly this entity should get by default.
            pub fn default_classification(self) -> Classification {
                match self { $( EntityType::$variant => Classification::$class, )* }
            }
        }

        impl FromStr for EntityType {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_uppercase();
                match wanted.as_str() {
                    $( $name => Ok(EntityType::$variant), )*
                    _ => Err(CoreError::invalid(
                        "entity type",
                        s,
                        format!("use one of {}", [$( $name ),*].join(", ")),
                    )),
                }
            }
        }
    };
}

entities! {
    /// A person's name.
    Person => "PERSON", L2;
    /// A street address, city or other place tied to a person.
    Location => "LOCATION", L2;
    /// A date or time (dates of birth among them).
    DateTime => "DATE_TIME", L1;
    /// An e-mail address.
    EmailAddress => "EMAIL_ADDRESS", L2;
    /// A phone number valid for its country.
    PhoneNumber => "PHONE_NUMBER", L2;
    /// A payment card number that passes Luhn.
    CreditCard => "CREDIT_CARD", L3;
    /// An IBAN with a valid length and mod-97 check.
    IbanCode => "IBAN_CODE", L3;
    /// An IPv4 or IPv6 address.
    IpAddress => "IP_ADDRESS", L2;
    /// A network hardware address.
    MacAddress => "MAC_ADDRESS", L2;
    /// A URL.
    Url => "URL", L1;
    /// A US social security number.
    UsSsn => "US_SSN", L3;
    /// A UK national insurance number.
    UkNino => "UK_NINO", L3;
    /// A UK NHS number (mod-11).
    UkNhs => "UK_NHS", L3;
    /// A French social security number (NIR, mod-97 key).
    FrNir => "FR_NIR", L3;
    /// A Spanish tax ID for nationals (DNI/NIF letter check).
    EsNif => "ES_NIF", L3;
    /// A Spanish foreigner ID (NIE letter check).
    EsNie => "ES_NIE", L3;
    /// An Italian fiscal code (codice fiscale, check character).
    ItFiscalCode => "IT_FISCAL_CODE", L3;
    /// A Dutch citizen service number (BSN, 11-test).
    NlBsn => "NL_BSN", L3;
    /// A Polish PESEL (weighted check digit, valid birth date).
    PlPesel => "PL_PESEL", L3;
    /// A Swedish personal identity number (Luhn).
    SePersonnummer => "SE_PERSONNUMMER", L3;
    /// An Indian Aadhaar number (Verhoeff).
    InAadhaar => "IN_AADHAAR", L3;
    /// A Canadian social insurance number (Luhn).
    CaSin => "CA_SIN", L3;
    /// A German tax identification number (Steuer-IdNr, ISO 7064 mod 11,10).
    DeTaxId => "DE_TAX_ID", L3;
    /// Credentials: cloud keys, API tokens, JWTs, private keys, passwords.
    Secret => "SECRET", L3;
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl EntityType {
    /// Parses a comma-separated list (`EMAIL_ADDRESS,PHONE_NUMBER`), as flags take it.
    pub fn parse_list(s: &str) -> Result<Vec<EntityType>, CoreError> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in EntityType::ALL {
            assert_eq!(e.name().parse::<EntityType>().unwrap(), *e);
        }
        assert_eq!(EntityType::ALL.len(), 24);
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let err = "EMAIL".parse::<EntityType>().unwrap_err().to_string();
        assert!(err.contains("\"EMAIL\""), "{err}");
        assert!(err.contains("EMAIL_ADDRESS"), "{err}");
    }
}
