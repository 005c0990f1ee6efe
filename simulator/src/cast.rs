//! Who is in the simulated network: one SSC serving every agency, the agencies with their
//! employees and approver, and merchants of the kinds the issue lists, each with a fixed
//! ed25519 identity (derived from its name, so runs are byte-identical) and a directory
//! signed by the operator.

use ed25519_dalek::SigningKey;
use kvitt_node::core::Identity;
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::{PublicKey, Signed};
use sha2::{Digest, Sha256};

use crate::config::SimConfig;

/// The simulated network's name.
pub const NETWORK: &str = "kvitt-sim";

/// What a merchant sells, which fixes its lines' categories, VAT rates and currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MerchantKind {
    /// A Swedish hotel: lodging and breakfast, 12 %.
    Hotel,
    /// A restaurant: food 12 %, wine 25 %.
    Restaurant,
    /// Taxi rides, 6 %.
    Taxi,
    /// Train tickets, 6 %.
    Rail,
    /// A fuel station, 25 %.
    Fuel,
    /// A hotel abroad, in this currency.
    ForeignHotel(&'static str),
}

/// The kinds merchants are given in turn.
const KINDS: [MerchantKind; 8] = [
    MerchantKind::Taxi,
    MerchantKind::Restaurant,
    MerchantKind::Hotel,
    MerchantKind::Rail,
    MerchantKind::Fuel,
    MerchantKind::ForeignHotel("EUR"),
    MerchantKind::ForeignHotel("NOK"),
    MerchantKind::ForeignHotel("USD"),
];

/// One node of the network.
#[derive(Clone)]
pub struct Party {
    /// Its identity (key, organisation number, role).
    pub identity: Identity,
    /// Its name.
    pub name: String,
    /// A merchant's kind.
    pub kind: Option<MerchantKind>,
    /// An agency's employees (the last is its approver).
    pub people: Vec<String>,
}

impl Party {
    /// The node key.
    pub fn key(&self) -> PublicKey {
        self.identity.key()
    }

    /// An agency's employees who buy and claim (all but the approver).
    pub fn employees(&self) -> &[String] {
        self.people.split_last().map_or(&[], |(_, employees)| employees)
    }

    /// An agency's approver.
    pub fn approver(&self) -> &str {
        self.people.last().map_or("approver", String::as_str)
    }
}

/// The whole network.
pub struct Cast {
    /// Every node: the SSC first, then the agencies, then the merchants.
    pub parties: Vec<Party>,
    /// The operator's key, which signs the directory.
    pub operator: SigningKey,
    /// The directory every node starts from.
    pub directory: Signed<Directory>,
}

/// A fixed key for `name`.
pub fn key(name: &str) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("kvitt-sim {name}")).into())
}

/// A Swedish organisation number `PPPPNN-NNNC` from a four-digit prefix and a number,
/// with its Luhn check digit.
pub fn org_number(prefix: u32, number: u32) -> String {
    let digits = format!("{prefix:04}{:05}", number % 100_000);
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, byte)| {
            let digit = u32::from(byte - b'0');
            if position % 2 == 0 {
                let doubled = digit * 2;
                doubled / 10 + doubled % 10
            } else {
                digit
            }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    let (head, tail) = digits.split_at(6);
    format!("{head}-{tail}{check}")
}

impl Cast {
    /// The cast `config` asks for.
    pub fn new(config: &SimConfig) -> Result<Cast, kvitt_protocol::Error> {
        let mut parties = Vec::new();
        let party = |role: MemberRole, org: String, name: String| Party {
            identity: Identity { signing_key: key(&name), org, role },
            name,
            kind: None,
            people: Vec::new(),
        };
        parties.push(party(MemberRole::Ssc, org_number(2021, 6255), "Statens servicecenter (sim)".into()));
        for number in 0..config.agencies() {
            let index = u32::try_from(number).unwrap_or(u32::MAX);
            let mut agency =
                party(MemberRole::Agency, org_number(2022, index), format!("Myndighet {number}"));
            agency.people = (0..config.employees_per_agency)
                .map(|person| format!("emp-{number}-{person}"))
                .chain(std::iter::once(format!("attestant-{number}")))
                .collect();
            parties.push(agency);
        }
        for number in 0..config.merchants() {
            let kind = KINDS.get(number % KINDS.len()).copied().unwrap_or(MerchantKind::Taxi);
            let index = u32::try_from(number).unwrap_or(u32::MAX);
            let (org, name) = match kind {
                MerchantKind::ForeignHotel(currency) => {
                    let country = foreign_country(currency);
                    (format!("{country}:HR{index:06}"), format!("Hotel {country} {number}"))
                }
                _ => (org_number(5560, index), format!("{kind:?} Kvitt AB {number}")),
            };
            let mut merchant = party(MemberRole::Merchant, org, name);
            merchant.kind = Some(kind);
            parties.push(merchant);
        }
        let operator = key("operator");
        let agencies: Vec<String> = parties
            .iter()
            .filter(|party| party.identity.role == MemberRole::Agency)
            .map(|party| party.identity.org.clone())
            .collect();
        let members = parties
            .iter()
            .enumerate()
            .map(|(index, party)| Member {
                role: party.identity.role,
                org: party.identity.org.clone(),
                name: party.name.clone(),
                key: party.key(),
                addresses: vec![format!("10.0.{}.{}:7400", index / 250, index % 250 + 1)],
                serves: if party.identity.role == MemberRole::Ssc { agencies.clone() } else { Vec::new() },
            })
            .collect();
        let body = Directory {
            network: NETWORK.into(),
            version: 1,
            issued_at: "2026-05-01T00:00:00+02:00".into(),
            members,
        };
        let directory = Signed::sign(body, &operator)?;
        Ok(Cast { parties, operator, directory })
    }

    /// The SSC.
    pub fn ssc(&self) -> usize {
        0
    }

    /// The indexes of the agencies.
    pub fn agencies(&self) -> Vec<usize> {
        self.of_role(MemberRole::Agency)
    }

    /// The indexes of the merchants.
    pub fn merchants(&self) -> Vec<usize> {
        self.of_role(MemberRole::Merchant)
    }

    fn of_role(&self, role: MemberRole) -> Vec<usize> {
        (0..self.parties.len())
            .filter(|index| self.parties.get(*index).is_some_and(|party| party.identity.role == role))
            .collect()
    }
}

/// The country of a foreign hotel paid in `currency`.
pub fn foreign_country(currency: &str) -> &'static str {
    match currency {
        "NOK" => "NO",
        "USD" => "US",
        _ => "DE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_numbers_pass_the_luhn_check() {
        for number in [0, 1, 42, 99_999] {
            let org = org_number(5560, number);
            let digits: Vec<u8> = org.bytes().filter(u8::is_ascii_digit).map(|byte| byte - b'0').collect();
            assert!(kvitt_protocol::fields::luhn_valid(&digits), "{org}");
        }
        assert_eq!(org_number(5560, 16068), "556016-0680");
    }

    #[test]
    fn the_directory_lists_every_party_and_the_ssc_serves_every_agency() {
        let cast = Cast::new(&SimConfig::new(1, crate::config::FaultMix::None)).unwrap();
        let directory = cast.directory.body();
        assert_eq!(directory.members.len(), 8);
        for agency in cast.agencies() {
            let org = &cast.parties[agency].identity.org;
            assert_eq!(directory.ssc_of(org).map(|ssc| ssc.key), Some(cast.parties[0].key()));
        }
    }
}
