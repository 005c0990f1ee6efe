//! The records every vector family builds on: a hotel, a grocery and its return, a
//! foreign receipt, a travel claim and its events, the directory and two evidence records.

use super::*;

/// The records every family of vectors builds on.
pub(crate) struct Base {
    pub(crate) hotel: Signed<Receipt>,
    pub(crate) grocery: Signed<Receipt>,
    pub(crate) refund: Signed<Receipt>,
    pub(crate) berlin: Signed<Receipt>,
    pub(crate) claim: Signed<Claim>,
    pub(crate) claim_id: RecordId,
    pub(crate) submitted: Signed<ClaimEvent>,
    pub(crate) reviewed: Signed<ClaimEvent>,
    pub(crate) approved: Signed<ClaimEvent>,
    pub(crate) rejected: Signed<ClaimEvent>,
    pub(crate) withdrawn: Signed<ClaimEvent>,
    pub(crate) booked: Signed<ClaimEvent>,
    pub(crate) paid: Signed<ClaimEvent>,
    pub(crate) reversed: Signed<ClaimEvent>,
    pub(crate) directory: Signed<Directory>,
    pub(crate) detected_at: String,
    pub(crate) conflict: Signed<Evidence>,
    pub(crate) directory_conflict: Signed<Evidence>,
}

impl Base {
    /// The fixed records, signed.
    pub(crate) fn new() -> Base {
        let hotel = sign(common::receipt(), MERCHANT);
        let grocery = sign(grocery(), GROCER);
        let refund = sign(grocery_return(Some(grocery.id())), GROCER);
        let berlin = sign(foreign(), MERCHANT_DE);
        let claim = sign(travel_claim(&hotel, &berlin), AGENCY);
        let claim_id = claim.id();
        let submitted = sign(
            event(claim_id, None, "2026-05-22T09:05:00+02:00", "emp-17", Role::Employee, Action::Submitted),
            AGENCY,
        );
        let reviewed = sign(
            event(
                claim_id,
                Some(submitted.id()),
                "2026-05-23T08:30:00+02:00",
                "chef-4",
                Role::Approver,
                Action::Reviewed { note: Some("Traktamentet stämmer mot resplanen.".into()) },
            ),
            AGENCY,
        );
        let approved = sign(
            event(
                claim_id,
                Some(submitted.id()),
                "2026-05-23T09:10:00+02:00",
                "chef-4",
                Role::Approver,
                Action::Approved,
            ),
            AGENCY,
        );
        let rejected = sign(
            event(
                claim_id,
                Some(reviewed.id()),
                "2026-05-23T09:12:00+02:00",
                "chef-4",
                Role::Approver,
                Action::Rejected {
                    reason: "Kvittot från Stockholm hör till en annan resa; lägg det i en egen räkning."
                        .into(),
                },
            ),
            AGENCY,
        );
        let withdrawn = sign(
            event(
                claim_id,
                Some(submitted.id()),
                "2026-05-22T11:00:00+02:00",
                "emp-17",
                Role::Employee,
                Action::Withdrawn,
            ),
            AGENCY,
        );
        let booked = sign(
            event(
                claim_id,
                Some(approved.id()),
                "2026-05-26T14:00:00+02:00",
                "ssc-handl-3",
                Role::Ssc,
                Action::Booked { series: "R".into(), number: 4_711 },
            ),
            SSC,
        );
        let paid = sign(
            event(
                claim_id,
                Some(booked.id()),
                "2026-05-29T06:00:00+02:00",
                "ssc-handl-3",
                Role::Ssc,
                Action::Paid { date: "2026-05-29".into(), reference: Some("UTB-2026-05-0417".into()) },
            ),
            SSC,
        );
        let reversed = sign(
            event(
                claim_id,
                Some(paid.id()),
                "2026-06-03T10:15:00+02:00",
                "ssc-handl-3",
                Role::Ssc,
                Action::Reversed {
                    reason: "Utbetalt två gånger: samma hotellnatt finns i räkning 2026-000031.".into(),
                    series: "R".into(),
                    number: 4_790,
                },
            ),
            SSC,
        );
        let directory = sign(network_directory(), OPERATOR);
        let hotel_without_breakfast = sign(
            computed(Receipt { lines: vec![common::receipt().lines[0].clone()], ..common::receipt() }),
            MERCHANT,
        );
        let detected_at = "2026-05-06T10:06:00+02:00".to_owned();
        let evidence = |a: &Signed<Receipt>, b: &Signed<Receipt>| {
            let (a, b) = (AnyRecord::Receipt(a.clone()), AnyRecord::Receipt(b.clone()));
            Evidence::new(&a, &b, detected_at.clone()).expect("conflicting receipts make evidence")
        };
        let conflict = sign(evidence(&hotel, &hotel_without_breakfast), SSC);
        // A second version 7 without the foreign merchant: the operator signed two directories
        // with one number.
        let directory_without_foreign = sign(
            Directory {
                members: network_directory()
                    .members
                    .into_iter()
                    .filter(|member| member.org != FOREIGN_ORG)
                    .collect(),
                ..network_directory()
            },
            OPERATOR,
        );
        let directory_conflict = sign(
            Evidence::new(
                &AnyRecord::Directory(directory.clone()),
                &AnyRecord::Directory(directory_without_foreign),
                "2026-05-06T11:30:00+02:00".to_owned(),
            )
            .expect("two directories with one version make evidence"),
            SSC,
        );

        // The hand-built envelope matches the library's, so forged vectors differ from real
        // ones only where they mean to.
        assert_eq!(forge_typed(hotel.body(), MERCHANT), hotel.bytes());
        Base {
            hotel,
            grocery,
            refund,
            berlin,
            claim,
            claim_id,
            submitted,
            reviewed,
            approved,
            rejected,
            withdrawn,
            booked,
            paid,
            reversed,
            directory,
            detected_at,
            conflict,
            directory_conflict,
        }
    }
}
