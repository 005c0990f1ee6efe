//! Booking: an approved claim and its receipts become one voucher that balances to zero
//! öre. The rules are in spec/books.md; every figure they use comes from the
//! [`BookingTable`].

use serde::{Deserialize, Serialize};
use time::Date;

use crate::allowances::{AllowanceTables, TaxSplit};
use crate::table::{BookingTable, BuyerNamedBy, ItemKind, VatRule};
use kvitt_protocol::assignment::Assignment;
use kvitt_protocol::claim::{Claim, ClaimItem};
use kvitt_protocol::claim_buyer::{check_claim_buyer, BuyerRefusal};
use kvitt_protocol::fields::{divide_rounded, OrgId};
use kvitt_protocol::id::RecordId;
use kvitt_protocol::receipt::{Buyer, Payment, Receipt};
use kvitt_protocol::vat::format_rate;
use kvitt_protocol::Signed;

pub use crate::booking_error::BookingError;

/// What the SSC knows of an agency's books: the agency, its voucher series and its cards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyBooks {
    /// The agency's Swedish organisation number, `NNNNNN-NNNN`.
    pub org: String,
    /// The agency's name (SIE #FNAMN).
    pub name: String,
    /// The voucher series its claims are booked in (e.g. `K`): 1 to 8 ASCII letters or
    /// digits.
    pub series: String,
    /// The masked card numbers (as receipts print them) of the agency's corporate cards.
    /// A receipt paid with one of them is owed to the card issuer, not to the employee.
    #[serde(default)]
    pub corporate_cards: Vec<String>,
}

/// One accounting voucher (verifikation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voucher {
    /// The voucher series.
    pub series: String,
    /// The number in the series, if assigned; SIE then writes `""` and the importing
    /// system numbers it.
    pub number: Option<u32>,
    /// The voucher date.
    pub date: Date,
    /// What the voucher is: the claim's number, claimant and id.
    pub text: String,
    /// The rows, debits positive, credits negative; they add up to zero.
    pub rows: Vec<VoucherRow>,
    /// Per diem and mileage split at their tax-free limits, for payroll: the taxable
    /// parts are salary. Not written to SIE; one entry per item split.
    pub payroll: Vec<PayrollLine>,
}

/// A per diem or mileage item as payroll needs it: the tax-free and the taxable part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayrollLine {
    /// The item, numbered from 0.
    pub item: usize,
    /// Per diem or mileage.
    pub kind: ItemKind,
    /// The employee paid.
    pub claimant: String,
    /// The split of what the agency pays, in öre.
    pub split: TaxSplit,
}

/// One row of a voucher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoucherRow {
    /// BAS account.
    pub account: u16,
    /// Öre: a debit is positive, a credit negative.
    pub amount: i64,
    /// What the row is, with the receipt's id where there is one.
    pub text: String,
}

impl Voucher {
    /// The sum of the rows; zero for a voucher that balances.
    pub fn balance(&self) -> i128 {
        self.rows.iter().map(|row| i128::from(row.amount)).sum()
    }
}

/// One deductible VAT figure: the rate in basis points and the VAT in öre.
struct Deduction {
    rate: u32,
    vat: i64,
}

fn check_series(series: &str) -> Result<(), BookingError> {
    let valid = (1..=8).contains(&series.len()) && series.bytes().all(|byte| byte.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(BookingError::Series { series: series.into() })
    }
}

fn kind_of(item: &ClaimItem) -> ItemKind {
    match item {
        ClaimItem::Receipt { .. } => ItemKind::Receipt,
        ClaimItem::Mileage { .. } => ItemKind::Mileage,
        ClaimItem::PerDiem { .. } => ItemKind::PerDiem,
    }
}

/// `value × numerator / denominator`, rounded half away from zero, in i64.
fn scale(value: i64, numerator: i64, denominator: i64, item: usize) -> Result<i64, BookingError> {
    let scaled = divide_rounded(i128::from(value) * i128::from(numerator), i128::from(denominator));
    i64::try_from(scaled).map_err(|_| BookingError::Overflow { item })
}

/// The records a claim's receipt items are booked from.
#[derive(Clone, Copy, Debug)]
pub struct ClaimReceipts<'a> {
    /// Every receipt an item names (others are ignored).
    pub receipts: &'a [Signed<Receipt>],
    /// The assignment of each receipt signed without a buyer, by its merchant (others are
    /// ignored): such a receipt's buyer is its assignment's (spec/codes.md §Claims).
    pub assignments: &'a [Signed<Assignment>],
}

impl<'a> ClaimReceipts<'a> {
    /// Receipts that name their buyers, without assignments.
    pub fn named(receipts: &'a [Signed<Receipt>]) -> ClaimReceipts<'a> {
        ClaimReceipts { receipts, assignments: &[] }
    }
}

/// Books `claim` with its `receipts` on `date` per `table`: one voucher in the agency's
/// series, balancing to zero öre. The claim must be approved (the caller knows its
/// events); each receipt item's receipt must be among `receipts`, bought by the claim's
/// agency (by its own word or its assignment's).
/// Per diem and mileage are split at the tax-free limits of `allowances` where the
/// table's category has a taxable account.
pub fn book(
    table: &BookingTable,
    allowances: &AllowanceTables,
    books: &AgencyBooks,
    claim: &Signed<Claim>,
    receipts: ClaimReceipts<'_>,
    date: Date,
) -> Result<Voucher, BookingError> {
    let ClaimReceipts { receipts, assignments } = receipts;
    let body = claim.body();
    if body.agency != books.org {
        return Err(BookingError::Agency {
            claim_agency: body.agency.clone(),
            books_agency: books.org.clone(),
        });
    }
    check_series(&books.series)?;
    let mut rows = Vec::new();
    let mut employee_owed: i64 = 0;
    let mut payroll = Vec::new();
    for (item_index, item) in body.items.iter().enumerate() {
        let account = item.booking().account;
        let (category_name, category) = table
            .category_by_account(account)
            .ok_or(BookingError::AccountUnmapped { item: item_index, account, version: table.version() })?;
        let kind = kind_of(item);
        if !category.kinds.contains(&kind) {
            return Err(BookingError::KindNotAllowed {
                item: item_index,
                account,
                category: category_name.into(),
                kind: kind.as_str(),
            });
        }
        match item {
            ClaimItem::Receipt { receipt: receipt_id, amount, foreign, participants, .. } => {
                let signed = receipts
                    .iter()
                    .find(|signed| signed.id() == *receipt_id)
                    .ok_or(BookingError::ReceiptMissing { item: item_index, receipt: *receipt_id })?;
                check_place(table, item_index, account, *receipt_id, signed.body())?;
                // The assignment of this receipt by its own merchant (its slot), if any.
                let assignment = assignments.iter().find(|assignment| {
                    assignment.body().receipt == *receipt_id && assignment.signer() == signed.signer()
                });
                let buyer = check_claim_buyer(body, signed, assignment).map_err(|refusal| {
                    BookingError::ReceiptBuyer {
                        item: item_index,
                        receipt: *receipt_id,
                        buyer: match refusal {
                            BuyerRefusal::OtherAgency { buyer, .. } => buyer,
                            _ => "no buyer".to_owned(),
                        },
                        agency: body.agency.clone(),
                    }
                })?;
                let booked = ReceiptItem {
                    table,
                    books,
                    item: item_index,
                    receipt_id: *receipt_id,
                    receipt: signed.body(),
                    buyer,
                    amount: *amount,
                    foreign: foreign.as_ref().map(|foreign| (foreign.amount, foreign.currency.as_str())),
                    participants: participants.len(),
                    account,
                    vat: category.vat,
                }
                .book(&mut rows)?;
                employee_owed =
                    employee_owed.checked_add(booked).ok_or(BookingError::Overflow { item: item_index })?;
            }
            ClaimItem::Mileage { km, route, amount, .. } => {
                let text = format!("Milersättning {km} km {route}");
                let allowance = Allowance { item: item_index, kind, account, amount: *amount, text };
                allowance.book(allowances, item, category.taxable_account, &mut rows, &mut payroll)?;
                employee_owed =
                    employee_owed.checked_add(*amount).ok_or(BookingError::Overflow { item: item_index })?;
            }
            ClaimItem::PerDiem { start, end, destination, amount, .. } => {
                let text = format!("Traktamente {destination} {start} - {end}");
                let allowance = Allowance { item: item_index, kind, account, amount: *amount, text };
                allowance.book(allowances, item, category.taxable_account, &mut rows, &mut payroll)?;
                employee_owed =
                    employee_owed.checked_add(*amount).ok_or(BookingError::Overflow { item: item_index })?;
            }
        }
    }
    rows.push(VoucherRow {
        account: table.employee_payable_account(),
        amount: -employee_owed,
        text: format!("Att betala {} räkning {}", body.claimant, body.number),
    });
    rows.retain(|row| row.amount != 0);
    if rows.is_empty() {
        return Err(BookingError::NothingToBook);
    }
    Ok(Voucher {
        series: books.series.clone(),
        number: None,
        date,
        text: format!("Räkning {} {} {}", body.number, body.claimant, claim.id()),
        rows,
        payroll: payroll
            .into_iter()
            .map(|(item, kind, split)| PayrollLine { item, kind, claimant: body.claimant.clone(), split })
            .collect(),
    })
}

/// Whether receipt item `item`, booked to `account`, is booked to a category for where
/// `receipt` was sold (spec/books.md §Booking rules, rule 3): a receipt sold abroad goes to
/// no category for Sweden and one sold in Sweden to no category for abroad. An account the
/// table does not map is not this check's business (rule 2 refuses it).
pub fn check_place(
    table: &BookingTable,
    item: usize,
    account: u16,
    receipt_id: RecordId,
    receipt: &Receipt,
) -> Result<(), BookingError> {
    let Some((name, category)) = table.category_by_account(account) else {
        return Ok(());
    };
    let sold_abroad = receipt.sold_abroad();
    if category.place.admits(sold_abroad) {
        return Ok(());
    }
    Err(BookingError::Place {
        item,
        account,
        category: name.into(),
        place: category.place,
        receipt: receipt_id,
        sold_abroad,
        instead: table.counterpart(name).map(|(_, other)| other.account),
    })
}

/// A per diem or mileage item being booked.
struct Allowance {
    item: usize,
    kind: ItemKind,
    account: u16,
    amount: i64,
    text: String,
}

impl Allowance {
    /// Pushes the item's rows: with a taxable account, the tax-free part to the category's
    /// account and the part above the limit to the taxable one, noted for payroll;
    /// without, the whole amount to the category's account.
    fn book(
        self,
        allowances: &AllowanceTables,
        claim_item: &ClaimItem,
        taxable_account: Option<u16>,
        rows: &mut Vec<VoucherRow>,
        payroll: &mut Vec<(usize, ItemKind, TaxSplit)>,
    ) -> Result<(), BookingError> {
        let Some(taxable_account) = taxable_account else {
            rows.push(VoucherRow { account: self.account, amount: self.amount, text: self.text });
            return Ok(());
        };
        let split = allowances
            .tax_split(claim_item)
            .map_err(|error| BookingError::Allowances { item: self.item, error })?
            .unwrap_or_else(|| TaxSplit::of(self.amount, self.amount));
        rows.push(VoucherRow { account: self.account, amount: split.tax_free, text: self.text.clone() });
        rows.push(VoucherRow {
            account: taxable_account,
            amount: split.taxable,
            text: format!("{} skattepliktig del", self.text),
        });
        payroll.push((self.item, self.kind, split));
        Ok(())
    }
}

/// A receipt item being booked.
struct ReceiptItem<'a> {
    table: &'a BookingTable,
    books: &'a AgencyBooks,
    item: usize,
    receipt_id: RecordId,
    receipt: &'a Receipt,
    /// Its effective buyer, the claim's agency (checked by `check_claim_buyer`).
    buyer: &'a Buyer,
    amount: i64,
    foreign: Option<(i64, &'a str)>,
    participants: usize,
    account: u16,
    vat: VatRule,
}

impl ReceiptItem<'_> {
    /// Pushes the item's expense, VAT and corporate-card rows; returns what is owed to the
    /// employee for it.
    fn book(&self, rows: &mut Vec<VoucherRow>) -> Result<i64, BookingError> {
        let item = self.item;
        let receipt = self.receipt;
        let id = self.receipt_id;
        if receipt.total <= 0 {
            return Err(BookingError::ReceiptTotal { item, receipt: id, total: receipt.total });
        }
        let in_sek = receipt.currency == "SEK";
        match (self.foreign, in_sek) {
            (None, true) => {
                if self.amount > receipt.total {
                    return Err(BookingError::AmountAboveTotal {
                        item,
                        amount: self.amount,
                        total: receipt.total,
                    });
                }
            }
            (Some((foreign_amount, currency)), false) => {
                if currency != receipt.currency {
                    return Err(BookingError::Foreign {
                        item,
                        reason: format!("currency {currency}, but the receipt is in {}", receipt.currency),
                    });
                }
                if foreign_amount > receipt.total {
                    return Err(BookingError::Foreign {
                        item,
                        reason: format!(
                            "{foreign_amount} is more than the receipt's total {} {}",
                            receipt.total, receipt.currency
                        ),
                    });
                }
            }
            (Some(_), true) => {
                return Err(BookingError::Foreign { item, reason: "the receipt is in SEK".into() });
            }
            (None, false) => {
                return Err(BookingError::Foreign {
                    item,
                    reason: format!("missing; the receipt is in {}", receipt.currency),
                });
            }
        }
        // Swedish VAT: a SEK receipt from a seller with a Swedish organisation number.
        // Anything else is foreign VAT, never deducted: the whole SEK amount is expense.
        let seller_swedish =
            OrgId::parse("merchant.org", &receipt.merchant.org).is_ok_and(|org| org.is_swedish());
        let swedish_vat = in_sek && seller_swedish;
        // The claimed share of each VAT row: the whole row when the whole receipt is
        // claimed, else scaled by amount / total and rounded half away from zero.
        let mut shares = Vec::new();
        if swedish_vat {
            for row in &receipt.vat {
                let vat = scale(row.vat, self.amount, receipt.total, item)?;
                let taxable = scale(row.taxable, self.amount, receipt.total, item)?;
                shares.push((row.rate, vat, taxable));
            }
        }
        let limit = self.table.simplified_invoice();
        let names_buyer = receipt.total <= limit.limit_incl_vat
            || match limit.buyer_named_by {
                BuyerNamedBy::Agency => true, // the buyer's agency is the claim's, checked before
                // Named on the receipt or in its merchant's signed assignment of it: a
                // document of the seller's that refers to the receipt by its id.
                BuyerNamedBy::AgencyAndEmployee => self.buyer.employee.is_some(),
            };
        let deductible = swedish_vat && names_buyer;
        let mut deductions: Vec<Deduction> = Vec::new();
        let expense_text = format!("{} kvitto {id}", receipt.merchant.name);
        match self.vat {
            VatRule::None => {
                rows.push(VoucherRow { account: self.account, amount: self.amount, text: expense_text });
            }
            VatRule::Deductible => {
                if deductible {
                    deductions =
                        shares.iter().map(|(rate, vat, _)| Deduction { rate: *rate, vat: *vat }).collect();
                }
                let deducted: i64 = deductions.iter().map(|deduction| deduction.vat).sum();
                rows.push(VoucherRow {
                    account: self.account,
                    amount: self.amount - deducted,
                    text: expense_text,
                });
            }
            VatRule::Representation { limit_excl_vat_per_participant, excess_account } => {
                if self.participants == 0 {
                    return Err(BookingError::Participants { item });
                }
                let participants =
                    i64::try_from(self.participants).map_err(|_| BookingError::Overflow { item })?;
                let cap = limit_excl_vat_per_participant
                    .checked_mul(participants)
                    .ok_or(BookingError::Overflow { item })?;
                // The base: the claimed amount excluding VAT (for foreign VAT, the whole
                // SEK amount, as none of it is deducted).
                let base: i64 = if swedish_vat {
                    shares.iter().map(|(_, _, taxable)| taxable).sum()
                } else {
                    self.amount
                };
                if deductible {
                    for (rate, vat, _) in &shares {
                        let vat = if base <= cap { *vat } else { scale(*vat, cap, base, item)? };
                        deductions.push(Deduction { rate: *rate, vat });
                    }
                }
                let deducted: i64 = deductions.iter().map(|deduction| deduction.vat).sum();
                let expense = self.amount - deducted;
                let within = base.min(cap).min(expense).max(0);
                let text = format!("{expense_text} ({} deltagare)", self.participants);
                rows.push(VoucherRow { account: self.account, amount: within, text: text.clone() });
                rows.push(VoucherRow { account: excess_account, amount: expense - within, text });
            }
        }
        for deduction in deductions {
            rows.push(VoucherRow {
                account: self.table.input_vat_account(),
                amount: deduction.vat,
                text: format!("Moms {} kvitto {id}", format_rate(deduction.rate)),
            });
        }
        // What the agency's corporate card paid of the receipt; the claimed amount is
        // split between card and employee in that proportion.
        let card_paid: i64 = receipt
            .payments
            .iter()
            .filter_map(|payment| match payment {
                Payment::Card { amount, masked_pan, .. }
                    if self.books.corporate_cards.contains(masked_pan) =>
                {
                    Some(*amount)
                }
                _ => None,
            })
            .sum();
        let on_card = scale(self.amount, card_paid, receipt.total, item)?.clamp(0, self.amount);
        if on_card != 0 {
            rows.push(VoucherRow {
                account: self.table.corporate_card_account(),
                amount: -on_card,
                text: format!("Företagskort kvitto {id}"),
            });
        }
        Ok(self.amount - on_card)
    }
}
