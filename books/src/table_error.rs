//! Why a booking table was refused ([`crate::table::BookingTable::from_json`]): each
//! variant names the field and the value.

/// Why a booking table was refused. Each variant names the field and the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The JSON does not match the table format.
    #[error("booking table: {path}: {message}")]
    Format {
        /// Where in the JSON.
        path: String,
        /// What serde said.
        message: String,
    },
    /// The table's version is not one this implementation reads.
    #[error(
        "booking table: version {version} is not supported (this implementation reads version {supported})"
    )]
    Version {
        /// The version in the table.
        version: u32,
        /// The version read.
        supported: u32,
    },
    /// An account is not a four-digit BAS account (1000–8999).
    #[error("booking table: {field}: {account} is not a four-digit BAS account 1000-8999")]
    AccountFormat {
        /// Which field holds it.
        field: String,
        /// The value given.
        account: String,
    },
    /// An account the table books to has no name in `accounts` (SIE #KONTO needs one).
    #[error("booking table: {field}: account {account} has no name in `accounts`")]
    AccountName {
        /// Which field uses it.
        field: String,
        /// The account.
        account: u16,
    },
    /// An account name is empty, or holds a control character or a character SIE's PC8
    /// encoding cannot write.
    #[error("booking table: accounts.{account}: the name is empty, or holds a control character or one without a code page 437 (PC8) byte")]
    AccountNameText {
        /// The account.
        account: u16,
    },
    /// Two categories debit the same account, so an item's account would not say which.
    #[error("booking table: categories {first} and {second} both use account {account}")]
    SharedAccount {
        /// The account.
        account: u16,
        /// The first category using it.
        first: String,
        /// The second.
        second: String,
    },
    /// A liability, input-VAT, excess or taxable account is also a category's expense
    /// account.
    #[error("booking table: {field}: account {account} is also the account of category {category}")]
    ReservedAccount {
        /// The field naming the reserved account.
        field: String,
        /// The account.
        account: u16,
        /// The category using it.
        category: String,
    },
    /// A claim item kind has no category it may be booked to.
    #[error("booking table: no category takes {kind} items")]
    KindUnmapped {
        /// The kind.
        kind: &'static str,
    },
    /// A category takes no item kinds.
    #[error("booking table: categories.{category}.kinds is empty")]
    NoKinds {
        /// The category.
        category: String,
    },
    /// A goods category of the VAT rate table is not mapped to an expense category.
    #[error("booking table: line_categories: the VAT table's category {line_category:?} is not mapped")]
    LineCategoryUnmapped {
        /// The goods category.
        line_category: String,
    },
    /// `line_categories` names a goods category the VAT rate table does not have.
    #[error("booking table: line_categories.{line_category}: not a category of the VAT rate table")]
    LineCategoryUnknown {
        /// The goods category.
        line_category: String,
    },
    /// `line_categories` maps to an expense category the table does not have, or to one
    /// that does not take receipts.
    #[error(
        "booking table: line_categories.{line_category}: {category:?} is not a category taking receipts"
    )]
    CategoryUnknown {
        /// The goods category.
        line_category: String,
        /// The expense category named.
        category: String,
    },
    /// A category that takes receipts has a `taxable_account` (only allowances are split
    /// at a tax-free limit).
    #[error("booking table: categories.{category}.taxable_account: the category takes receipts; only per_diem and mileage categories have a taxable account")]
    TaxableAccountKinds {
        /// The category.
        category: String,
    },
    /// A category's `abroad` is wrong: on a category that is not for Sweden, naming a
    /// category that is missing, not for abroad, or does not take the same kinds; or a
    /// category for Sweden that takes receipts has none.
    #[error("booking table: categories.{category}.abroad: {why}")]
    Abroad {
        /// The category.
        category: String,
        /// What is wrong.
        why: String,
    },
    /// A limit is out of range.
    #[error("booking table: {field}: {value} öre, expected {range}")]
    Limit {
        /// The field.
        field: String,
        /// The value given.
        value: i64,
        /// The range allowed.
        range: &'static str,
    },
}
