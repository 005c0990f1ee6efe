//! The words of the approver's, SSC staff's, operator's and merchant's pages, one table
//! per language, apart from [`super::i18n::Text`] (the foundation's and the employee's
//! words) so that each part of the web app grows its own table.

use super::i18n::Lang;

macro_rules! role_text_table {
    ($($field:ident),* $(,)?) => {
        /// Every string of the approver, SSC, operator and merchant pages in one language.
        #[allow(missing_docs)]
        #[derive(Debug)]
        pub struct RoleText { $(pub $field: &'static str,)* }
    };
}

role_text_table!(
    to_approve,
    to_approve_intro,
    to_approve_none,
    to_book,
    to_book_intro,
    to_book_none,
    show_status,
    show,
    next_page,
    first_page,
    decision_title,
    claim_items,
    claim_receipts,
    receipt_missing,
    purpose,
    booking,
    reason,
    reason_hint,
    decisions,
    no_decisions,
    decided,
    held,
    exceptions,
    exceptions_intro,
    exceptions_none,
    kind,
    why,
    next_step,
    open,
    resolved,
    note,
    note_hint,
    resolve_reject,
    resolve_book,
    show_resolved,
    sie_export,
    sie_intro,
    agency,
    from,
    to,
    again,
    download,
    operations,
    directory,
    directory_version,
    members,
    member_name,
    member_role,
    org,
    addresses,
    node_key,
    sync_now,
    sync_intro,
    sync_result,
    peer,
    result,
    sync_ok,
    sync_failed,
);

/// Svenska.
pub static SV: RoleText = RoleText {
    to_approve: "Att attestera",
    to_approve_intro:
        "Inskickade räkningar som väntar på ditt beslut. Dina egna räkningar attesterar någon annan.",
    to_approve_none: "Inget väntar på dig här.",
    to_book: "Att bokföra",
    to_book_intro: "Räkningar per status: attesterade att bokföra, bokförda att betala.",
    to_book_none: "Inga räkningar med den statusen här.",
    show_status: "Status att visa",
    show: "Visa",
    next_page: "Nästa sida",
    first_page: "Första sidan",
    decision_title: "Räkning",
    claim_items: "Poster",
    claim_receipts: "Kvitton",
    receipt_missing: "Kvittot finns inte på den här noden.",
    purpose: "Ändamål",
    booking: "Konto och kostnadsställe",
    reason: "Skäl",
    reason_hint: "Skälet visas för den anställda och sparas signerat.",
    decisions: "Beslut",
    no_decisions: "Du kan inte fatta något beslut om räkningen nu.",
    decided: "Beslutet är registrerat.",
    held: "Räkningen hålls som undantag",
    exceptions: "Undantag",
    exceptions_intro:
        "Räkningar och poster som noden håller: dubbletter, kurser, överkrav och bokföring, med underlag.",
    exceptions_none: "Inga undantag.",
    kind: "Typ",
    why: "Underlag",
    next_step: "Nästa steg",
    open: "Öppet",
    resolved: "Avgjort",
    note: "Anteckning",
    note_hint: "Varför du beslutar så; sparas signerat.",
    resolve_reject: "Avvisa räkningen",
    resolve_book: "Bokför ändå",
    show_resolved: "Visa även avgjorda",
    sie_export: "SIE-export",
    sie_intro: "Ladda ner en myndighets verifikationer för en period som en SIE 4I-fil.",
    agency: "Myndighet",
    from: "Från och med",
    to: "Till och med",
    again: "Ta med verifikationer som exporterats förut",
    download: "Ladda ner SIE-fil",
    operations: "Drift",
    directory: "Katalogen",
    directory_version: "Version",
    members: "Medlemmar",
    member_name: "Namn",
    member_role: "Roll",
    org: "Organisationsnummer",
    addresses: "Adresser",
    node_key: "Nodnyckel",
    sync_now: "Synka nu",
    sync_intro: "Stäm av med alla parter nu, och se hur det gick.",
    sync_result: "Avstämning",
    peer: "Part",
    result: "Utfall",
    sync_ok: "klar",
    sync_failed: "misslyckades",
};

/// English.
pub static EN: RoleText = RoleText {
    to_approve: "To approve",
    to_approve_intro: "Submitted claims waiting for your decision. Someone else approves your own claims.",
    to_approve_none: "Nothing is waiting for you here.",
    to_book: "To book",
    to_book_intro: "Claims by status: approved ones to book, booked ones to pay.",
    to_book_none: "No claims with that status here.",
    show_status: "Status to show",
    show: "Show",
    next_page: "Next page",
    first_page: "First page",
    decision_title: "Claim",
    claim_items: "Items",
    claim_receipts: "Receipts",
    receipt_missing: "This node does not hold the receipt.",
    purpose: "Purpose",
    booking: "Account and cost centre",
    reason: "Reason",
    reason_hint: "The employee sees the reason; it is kept signed.",
    decisions: "Decisions",
    no_decisions: "You cannot decide anything about this claim now.",
    decided: "The decision is recorded.",
    held: "The claim is held as an exception",
    exceptions: "Exceptions",
    exceptions_intro:
        "Claims and records the node holds: duplicates, rates, over-claims and bookings, with the evidence.",
    exceptions_none: "No exceptions.",
    kind: "Kind",
    why: "Evidence",
    next_step: "Next step",
    open: "Open",
    resolved: "Resolved",
    note: "Note",
    note_hint: "Why you decide so; kept signed.",
    resolve_reject: "Reject the claim",
    resolve_book: "Book it anyway",
    show_resolved: "Show resolved ones too",
    sie_export: "SIE export",
    sie_intro: "Download an agency's vouchers for a period as an SIE 4I file.",
    agency: "Agency",
    from: "From",
    to: "To",
    again: "Include vouchers exported before",
    download: "Download the SIE file",
    operations: "Operations",
    directory: "The directory",
    directory_version: "Version",
    members: "Members",
    member_name: "Name",
    member_role: "Role",
    org: "Organisation number",
    addresses: "Addresses",
    node_key: "Node key",
    sync_now: "Sync now",
    sync_intro: "Reconcile with every peer now, and see how it went.",
    sync_result: "Reconciliation",
    peer: "Peer",
    result: "Result",
    sync_ok: "done",
    sync_failed: "failed",
};

/// The role pages' words in `lang`.
pub fn role_text(lang: Lang) -> &'static RoleText {
    match lang {
        Lang::Sv => &SV,
        Lang::En => &EN,
    }
}

/// An exception kind's name in `lang`.
pub fn exception_kind(lang: Lang, kind: crate::core::ExceptionKind) -> &'static str {
    use crate::core::ExceptionKind as Kind;
    match (lang, kind) {
        (Lang::Sv, Kind::Duplicate) => "Dubblett",
        (Lang::Sv, Kind::OverClaim) => "Överkrav",
        (Lang::Sv, Kind::Equivocation) => "Dubbelsignering",
        (Lang::Sv, Kind::Delivery) => "Leverans",
        (Lang::Sv, Kind::Policy) => "Policy",
        (Lang::Sv, Kind::Rate) => "Växelkurs",
        (Lang::Sv, Kind::Booking) => "Bokföring",
        (Lang::Sv, Kind::Other) => "Övrigt",
        (Lang::En, Kind::Duplicate) => "Duplicate",
        (Lang::En, Kind::OverClaim) => "Over-claim",
        (Lang::En, Kind::Equivocation) => "Equivocation",
        (Lang::En, Kind::Delivery) => "Delivery",
        (Lang::En, Kind::Policy) => "Policy",
        (Lang::En, Kind::Rate) => "Exchange rate",
        (Lang::En, Kind::Booking) => "Booking",
        (Lang::En, Kind::Other) => "Other",
    }
}

/// The role pages' words in the language of the foundation's `t` (the menu knows only it).
pub fn role_text_of(t: &'static super::i18n::Text) -> &'static RoleText {
    if std::ptr::eq(t, Lang::En.text()) {
        &EN
    } else {
        &SV
    }
}
