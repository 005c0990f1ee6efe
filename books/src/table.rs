//! The booking table: which BAS account each kind of expense goes to, how its VAT is
//! treated, and the liability and input-VAT accounts. Data the SSC configures, not code;
//! spec/books/booking-table-v1.json is the default, and spec/books.md documents the format.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;

use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::vat::RateTable;

pub use crate::table_error::TableError;

/// The default table, as committed in spec/books/booking-table-v1.json.
pub const DEFAULT_BOOKING_TABLE_JSON: &str = include_str!("../../spec/books/booking-table-v1.json");

/// The only table format version this implementation reads.
pub const BOOKING_TABLE_FORMAT_VERSION: u32 = 1;

/// A booking table that passed every check of [`BookingTable::from_json`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingTable {
    version: u32,
    accounts: BTreeMap<u16, String>,
    input_vat_account: u16,
    employee_payable_account: u16,
    corporate_card_account: u16,
    simplified_invoice: SimplifiedInvoice,
    categories: BTreeMap<String, Category>,
    line_categories: BTreeMap<String, String>,
}

/// What a receipt may cost before it must name the buyer to support a VAT deduction (a
/// receipt is a simplified invoice only up to this amount, ML 17 ch.).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimplifiedInvoice {
    /// The limit, VAT included, in öre (400000 = 4,000 SEK). A receipt whose total is
    /// above it supports a deduction only if it names the buyer.
    pub limit_incl_vat: i64,
    /// What a receipt must carry to count as naming the buyer.
    pub buyer_named_by: BuyerNamedBy,
}

/// Which receipt fields name the buyer, for receipts above the simplified-invoice limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuyerNamedBy {
    /// `buyer.agency` equal to the claim's agency (the organisation number; name and
    /// address follow from the signed directory).
    Agency,
    /// `buyer.agency` equal to the claim's agency and `buyer.employee` present.
    AgencyAndEmployee,
}

/// The kinds of claim item ([`kvitt_protocol::claim::ClaimItem`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// An expense with a receipt.
    Receipt,
    /// Mileage (milersättning).
    Mileage,
    /// Per diem (traktamente).
    PerDiem,
}

impl ItemKind {
    /// Every kind, in declaration order.
    pub const ALL: [ItemKind; 3] = [ItemKind::Receipt, ItemKind::Mileage, ItemKind::PerDiem];

    /// The name in the table and in messages: `receipt`, `mileage`, `per_diem`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Receipt => "receipt",
            ItemKind::Mileage => "mileage",
            ItemKind::PerDiem => "per_diem",
        }
    }
}

/// An expense category: its account, the item kinds that may use it, and its VAT rule.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// The BAS expense account debited.
    pub account: u16,
    /// Which claim items may be booked to this category.
    pub kinds: BTreeSet<ItemKind>,
    /// How the VAT on its receipts is treated.
    pub vat: VatRule,
    /// For per diem and mileage: the account for what is paid above the tax-free limit
    /// (BAS 7322 taxable per diem, 7332 taxable car allowance). Without one, the whole
    /// amount goes to `account` and nothing is split for payroll.
    #[serde(default)]
    pub taxable_account: Option<u16>,
    /// Where its expenses are incurred, for the categories whose BAS accounts are split
    /// between Sweden and abroad (5831/5832 lodging and meals, 7321/7323 per diem).
    #[serde(default)]
    pub place: Place,
    /// For a category of expenses in Sweden: the category of the same expenses abroad
    /// (`lodging` → `lodging_abroad`), which a receipt sold abroad is suggested and
    /// booked to instead.
    #[serde(default)]
    pub abroad: Option<String>,
}

/// Where the expenses of a category are incurred. A receipt item is booked to a
/// category whose place fits where the receipt was sold ([`Receipt::sold_abroad`]);
/// per diem and mileage items carry no place, so their category is the claimant's word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// Expenses wherever incurred (BAS has one account: 5800 travel, 6071 representation).
    #[default]
    Anywhere,
    /// Expenses in Sweden only (5831 *Kost och logi i Sverige*).
    Sweden,
    /// Expenses abroad only (5832 *Kost och logi i utlandet*).
    Abroad,
}

impl Place {
    /// Whether a receipt sold abroad (`abroad`) or in Sweden may be booked here.
    pub fn admits(self, abroad: bool) -> bool {
        match self {
            Place::Anywhere => true,
            Place::Sweden => !abroad,
            Place::Abroad => abroad,
        }
    }

    /// The place as messages say it: `anywhere`, `in Sweden`, `abroad`.
    pub fn describe(self) -> &'static str {
        match self {
            Place::Anywhere => "anywhere",
            Place::Sweden => "in Sweden",
            Place::Abroad => "abroad",
        }
    }
}

/// How the VAT of an expense category is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum VatRule {
    /// Swedish VAT on the receipt is deducted in full (subject to the simplified-invoice
    /// rule).
    Deductible,
    /// No VAT is deducted: the whole amount is expense (per diem, mileage).
    None,
    /// Representation: VAT is deductible on at most `limit_excl_vat_per_participant` öre
    /// excluding VAT per participant and occasion (Skatteverket: 300 SEK for meals); the
    /// category's account takes the amount excluding VAT up to that base, `excess_account`
    /// the rest (the excess and the VAT not deducted).
    Representation {
        /// The base per participant, excluding VAT, in öre.
        limit_excl_vat_per_participant: i64,
        /// The account for what exceeds the base (BAS 6072, non-deductible).
        excess_account: u16,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    version: u32,
    #[serde(default)]
    #[allow(dead_code)]
    about: String,
    accounts: BTreeMap<String, String>,
    input_vat_account: u16,
    employee_payable_account: u16,
    corporate_card_account: u16,
    simplified_invoice: SimplifiedInvoice,
    categories: BTreeMap<String, Category>,
    line_categories: BTreeMap<String, String>,
}

/// The largest amount a limit may have: 10 million SEK.
const MAX_LIMIT_ORE: i64 = 1_000_000_000;

fn check_account(field: &str, account: u16) -> Result<u16, TableError> {
    if (1000..=8999).contains(&account) {
        Ok(account)
    } else {
        Err(TableError::AccountFormat { field: field.into(), account: account.to_string() })
    }
}

impl BookingTable {
    /// The default table compiled into this crate (spec/books/booking-table-v1.json),
    /// parsed at first use and then shared: a web page or a booking asks for it per request.
    pub fn default_table() -> Result<&'static BookingTable, TableError> {
        static DEFAULT: OnceLock<Result<BookingTable, TableError>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| BookingTable::from_json(DEFAULT_BOOKING_TABLE_JSON))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Reads and checks a table in the format of spec/books/booking-table-v1.json, with
    /// the goods categories of the Swedish VAT rate table.
    pub fn from_json(json: &str) -> Result<BookingTable, TableError> {
        BookingTable::from_json_with_rates(json, RateTable::sweden())
    }

    /// Reads and checks a table whose `line_categories` must cover `rates`' categories.
    pub fn from_json_with_rates(json: &str, rates: &RateTable) -> Result<BookingTable, TableError> {
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        let file: TableFile = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            TableError::Format { path: error.path().to_string(), message: error.inner().to_string() }
        })?;
        if file.version != BOOKING_TABLE_FORMAT_VERSION {
            return Err(TableError::Version {
                version: file.version,
                supported: BOOKING_TABLE_FORMAT_VERSION,
            });
        }
        let mut accounts = BTreeMap::new();
        for (key, name) in file.accounts {
            let field = format!("accounts.{key}");
            let is_four_digits = key.len() == 4 && key.bytes().all(|byte| byte.is_ascii_digit());
            let account =
                key.parse::<u16>().ok().filter(|_| is_four_digits).ok_or_else(|| {
                    TableError::AccountFormat { field: field.clone(), account: key.clone() }
                })?;
            check_account(&field, account)?;
            // The name is written in SIE #KONTO: refuse one PC8 cannot hold as written when
            // the table is loaded, rather than transliterate an account's own name.
            let writable = crate::sie::is_pc8(&name);
            if name.trim().is_empty() || !writable {
                return Err(TableError::AccountNameText { account });
            }
            accounts.insert(account, name);
        }
        let named = |field: &str, account: u16| -> Result<u16, TableError> {
            check_account(field, account)?;
            if accounts.contains_key(&account) {
                Ok(account)
            } else {
                Err(TableError::AccountName { field: field.into(), account })
            }
        };
        let input_vat_account = named("input_vat_account", file.input_vat_account)?;
        let employee_payable_account = named("employee_payable_account", file.employee_payable_account)?;
        let corporate_card_account = named("corporate_card_account", file.corporate_card_account)?;
        if !(0..=MAX_LIMIT_ORE).contains(&file.simplified_invoice.limit_incl_vat) {
            return Err(TableError::Limit {
                field: "simplified_invoice.limit_incl_vat".into(),
                value: file.simplified_invoice.limit_incl_vat,
                range: "0 to 1000000000",
            });
        }
        let mut by_account: BTreeMap<u16, &str> = BTreeMap::new();
        for (name, category) in &file.categories {
            named(&format!("categories.{name}.account"), category.account)?;
            if category.kinds.is_empty() {
                return Err(TableError::NoKinds { category: name.clone() });
            }
            if let Some(taxable_account) = category.taxable_account {
                named(&format!("categories.{name}.taxable_account"), taxable_account)?;
                if category.kinds.contains(&ItemKind::Receipt) {
                    return Err(TableError::TaxableAccountKinds { category: name.clone() });
                }
            }
            if let Some(first) = by_account.insert(category.account, name) {
                return Err(TableError::SharedAccount {
                    account: category.account,
                    first: first.into(),
                    second: name.clone(),
                });
            }
            if let VatRule::Representation { limit_excl_vat_per_participant, excess_account } = category.vat {
                named(&format!("categories.{name}.vat.excess_account"), excess_account)?;
                if !(0..=MAX_LIMIT_ORE).contains(&limit_excl_vat_per_participant) {
                    return Err(TableError::Limit {
                        field: format!("categories.{name}.vat.limit_excl_vat_per_participant"),
                        value: limit_excl_vat_per_participant,
                        range: "0 to 1000000000",
                    });
                }
            }
        }
        let mut reserved = vec![
            ("input_vat_account".to_string(), input_vat_account),
            ("employee_payable_account".to_string(), employee_payable_account),
            ("corporate_card_account".to_string(), corporate_card_account),
        ];
        for (name, category) in &file.categories {
            if let VatRule::Representation { excess_account, .. } = category.vat {
                reserved.push((format!("categories.{name}.vat.excess_account"), excess_account));
            }
            if let Some(taxable_account) = category.taxable_account {
                reserved.push((format!("categories.{name}.taxable_account"), taxable_account));
            }
        }
        for (field, account) in reserved {
            if let Some(category) = by_account.get(&account) {
                return Err(TableError::ReservedAccount { field, account, category: (*category).into() });
            }
        }
        for (name, category) in &file.categories {
            check_abroad(name, category, &file.categories)?;
        }
        for kind in ItemKind::ALL {
            if !file.categories.values().any(|category| category.kinds.contains(&kind)) {
                return Err(TableError::KindUnmapped { kind: kind.as_str() });
            }
        }
        for line_category in rates.categories() {
            if !file.line_categories.contains_key(line_category) {
                return Err(TableError::LineCategoryUnmapped { line_category: line_category.into() });
            }
        }
        for (line_category, category) in &file.line_categories {
            if !rates.has_category(line_category) {
                return Err(TableError::LineCategoryUnknown { line_category: line_category.clone() });
            }
            let takes_receipts =
                file.categories.get(category).is_some_and(|found| found.kinds.contains(&ItemKind::Receipt));
            if !takes_receipts {
                return Err(TableError::CategoryUnknown {
                    line_category: line_category.clone(),
                    category: category.clone(),
                });
            }
        }
        Ok(BookingTable {
            version: file.version,
            accounts,
            input_vat_account,
            employee_payable_account,
            corporate_card_account,
            simplified_invoice: file.simplified_invoice,
            categories: file.categories,
            line_categories: file.line_categories,
        })
    }

    /// The table's format version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The name of `account`, for SIE #KONTO, if the table has one.
    pub fn account_name(&self, account: u16) -> Option<&str> {
        self.accounts.get(&account).map(String::as_str)
    }

    /// The input VAT account (BAS 2640).
    pub fn input_vat_account(&self) -> u16 {
        self.input_vat_account
    }

    /// The liability to the employee for money laid out (BAS 2820).
    pub fn employee_payable_account(&self) -> u16 {
        self.employee_payable_account
    }

    /// The liability for payments with the agency's corporate card (BAS 2890).
    pub fn corporate_card_account(&self) -> u16 {
        self.corporate_card_account
    }

    /// The simplified-invoice rule.
    pub fn simplified_invoice(&self) -> SimplifiedInvoice {
        self.simplified_invoice
    }

    /// The category whose expense account is `account`, with its name.
    pub fn category_by_account(&self, account: u16) -> Option<(&str, &Category)> {
        self.categories
            .iter()
            .find(|(_, category)| category.account == account)
            .map(|(name, category)| (name.as_str(), category))
    }

    /// The category of the same expenses on the other side of the border: for a category
    /// for Sweden, its `abroad` category; for one for abroad, the category for Sweden that
    /// names it. None for a category for anywhere.
    pub fn counterpart(&self, name: &str) -> Option<(&str, &Category)> {
        let category = self.categories.get(name)?;
        match category.place {
            Place::Anywhere => None,
            Place::Sweden => {
                let abroad = category.abroad.as_deref()?;
                self.categories.get_key_value(abroad).map(|(name, category)| (name.as_str(), category))
            }
            Place::Abroad => self
                .categories
                .iter()
                .find(|(_, other)| other.abroad.as_deref() == Some(name))
                .map(|(name, category)| (name.as_str(), category)),
        }
    }

    /// The category named `name`.
    pub fn category(&self, name: &str) -> Option<&Category> {
        self.categories.get(name)
    }

    /// Every category, by name.
    pub fn categories(&self) -> impl Iterator<Item = (&str, &Category)> {
        self.categories.iter().map(|(name, category)| (name.as_str(), category))
    }

    /// The expense account of the first category that books claim items of `kind` incurred
    /// abroad or in Sweden: where the claim form books an item without a receipt (mileage,
    /// per diem). None if no category of the table takes that kind there.
    pub fn account_for_kind(&self, kind: ItemKind, abroad: bool) -> Option<u16> {
        self.categories
            .values()
            .find(|category| category.kinds.contains(&kind) && category.place.admits(abroad))
            .map(|category| category.account)
    }

    /// The expense account suggested for a receipt line of goods category `line_category`
    /// sold abroad or in Sweden (for the agency's claim form; booking uses the account the
    /// claim item names): the mapped category's, or its `abroad` category's for a line
    /// sold abroad.
    pub fn suggested_account(&self, line_category: &str, abroad: bool) -> Option<u16> {
        let mut category = self.categories.get(self.line_categories.get(line_category)?)?;
        if abroad {
            if let Some(instead) = category.abroad.as_ref().and_then(|name| self.categories.get(name)) {
                category = instead;
            }
        }
        Some(category.account)
    }

    /// The expense account suggested for a whole receipt: that of its priced line with
    /// the largest amount (the first of equals) whose goods category the table maps, for
    /// where the receipt was sold ([`Receipt::sold_abroad`]). None if no line has a mapped
    /// category (a foreign till need not name one).
    pub fn suggested_account_for(&self, receipt: &Receipt) -> Option<u16> {
        let abroad = receipt.sold_abroad();
        let mut best: Option<(i64, u16)> = None;
        for line in &receipt.lines {
            let (Some(category), Some(amount)) = (&line.category, line.amount) else {
                continue;
            };
            if let Some(account) = self.suggested_account(category, abroad) {
                if best.is_none_or(|(largest, _)| amount > largest) {
                    best = Some((amount, account));
                }
            }
        }
        best.map(|(_, account)| account)
    }
}

/// A category's `abroad`: only on a category for Sweden, naming a category for abroad
/// that takes every kind this one takes; and a category for Sweden that takes receipts
/// has one, so that a receipt sold abroad always has an account to go to.
fn check_abroad(name: &str, category: &Category, all: &BTreeMap<String, Category>) -> Result<(), TableError> {
    let refuse = |why: String| Err(TableError::Abroad { category: name.into(), why });
    let Some(abroad) = &category.abroad else {
        if category.place == Place::Sweden && category.kinds.contains(&ItemKind::Receipt) {
            return refuse(
                "missing: a category for Sweden that takes receipts names its category abroad".into(),
            );
        }
        return Ok(());
    };
    if category.place != Place::Sweden {
        return refuse(format!(
            "only a category with place \"sweden\" names one (this is {:?})",
            category.place
        ));
    }
    match all.get(abroad) {
        None => refuse(format!("{abroad:?} is not a category of the table")),
        Some(other) if other.place != Place::Abroad => {
            refuse(format!("{abroad:?} does not have place \"abroad\""))
        }
        Some(other) if !category.kinds.is_subset(&other.kinds) => {
            refuse(format!("{abroad:?} does not take every kind {name} takes"))
        }
        Some(_) => Ok(()),
    }
}
