//! Every party's money at the opening and at the end of a path, as
//! `balances/v1` rows (docs/model.md §8, "Checking conservation from the
//! outputs"): what lets a script outside the project verify the ledger.

use backstop_data::{BalanceParty, BalanceRow};

use crate::engine::{AccountSpec, Engine, Party};

/// The `balances/v1` rows of `engine` after its last step, with `opening` (the
/// population it was built from, in account order) giving each account's
/// opening cash. O(accounts + positions): written once per run, for path 0.
///
/// Cash rows first (each account, then the external counterparty, the fund,
/// the liquidators, the venue, the outside world, the vault if any, then each
/// market's own fund if any), then
/// position rows (each account's slots in account order, then the external
/// counterparty's per market, then the vault's), each position valued at the
/// market's last mark.
#[must_use]
pub fn balance_rows(engine: &Engine, opening: &[AccountSpec]) -> Vec<BalanceRow> {
    let capacity = 2 * engine.accounts().len() + 5 + engine.markets().len();
    let mut rows = Vec::with_capacity(capacity);
    rows.extend(balance_row_iter(engine, opening));
    rows
}

/// [`balance_rows`] in chunks of `size` rows (the last shorter), made as they
/// are taken: what streams `balances.parquet` one row group at a time
/// without holding every account's rows.
pub fn balance_row_chunks<'a>(
    engine: &'a Engine,
    opening: &'a [AccountSpec],
    size: usize,
) -> impl Iterator<Item = Vec<BalanceRow>> + 'a {
    let mut rows = balance_row_iter(engine, opening);
    std::iter::from_fn(move || {
        let chunk: Vec<BalanceRow> = rows.by_ref().take(size.max(1)).collect();
        (!chunk.is_empty()).then_some(chunk)
    })
}

/// The rows of [`balance_rows`], in its order, one at a time.
fn balance_row_iter<'a>(
    engine: &'a Engine,
    opening: &'a [AccountSpec],
) -> impl Iterator<Item = BalanceRow> + 'a {
    let accounts = engine.accounts();
    debug_assert_eq!(
        accounts.len(),
        opening.len(),
        "Invariant: one margin unit per account spec"
    );
    let cash = accounts
        .iter()
        .zip(opening)
        .enumerate()
        .map(move |(index, (account, spec))| {
            debug_assert_eq!(account.id, spec.id, "Invariant: accounts in spec order");
            BalanceRow::cash(
                BalanceParty::Account,
                Some(account.id),
                spec.collateral.0,
                engine.collateral(index as u32).0,
            )
        });
    let markets = engine.markets();
    let marks = engine.marks();
    let positions = accounts
        .iter()
        .enumerate()
        .flat_map(move |(index, account)| {
            engine.positions_of(index as u32).iter().map(move |p| {
                let market = &markets[p.market as usize];
                BalanceRow::position(
                    BalanceParty::Account,
                    Some(account.id),
                    &market.name,
                    p.lots,
                    p.cost.0,
                    market.value(p.lots, marks[p.market as usize]).0,
                )
            })
        });
    cash.chain(party_rows(engine))
        .chain(positions)
        .chain(outside_position_rows(engine))
}

/// The cash rows after the accounts': the external counterparty, the fund,
/// the liquidators, the venue, the outside world, the vault if any, then each
/// market's own fund if any.
fn party_rows(engine: &Engine) -> Vec<BalanceRow> {
    let mut rows = Vec::new();
    let fund_opening = engine.insurance_fund().initial().0;
    for (party, kind, opening) in [
        (Party::External, BalanceParty::External, 0),
        (
            Party::InsuranceFund,
            BalanceParty::InsuranceFund,
            fund_opening,
        ),
        (Party::Liquidators, BalanceParty::Liquidators, 0),
        (Party::Venue, BalanceParty::Venue, 0),
        (Party::Outside, BalanceParty::Outside, 0),
    ] {
        rows.push(BalanceRow::cash(
            kind,
            None,
            opening,
            engine.balance(party).0,
        ));
    }
    if let Some(v) = engine.vault() {
        rows.push(BalanceRow::cash(
            BalanceParty::Vault,
            None,
            v.capital.0,
            engine.balance(Party::Vault).0,
        ));
    }
    let markets = engine.markets();
    for (m, market) in markets.iter().enumerate() {
        if let Some(f) = engine.market_fund(m as u16) {
            rows.push(BalanceRow::market_fund(
                &market.name,
                f.initial().0,
                engine.balance(Party::MarketFund(m as u16)).0,
            ));
        }
    }
    rows
}

/// The position rows after the accounts': the external counterparty's per
/// market, then the vault's.
fn outside_position_rows(engine: &Engine) -> Vec<BalanceRow> {
    let mut rows = Vec::new();
    let markets = engine.markets();
    let marks = engine.marks();
    for (m, market) in markets.iter().enumerate() {
        let (lots, cost) = engine.external_position(m as u16);
        rows.push(BalanceRow::position(
            BalanceParty::External,
            None,
            &market.name,
            lots,
            cost.0,
            market.value(lots, marks[m]).0,
        ));
    }
    if engine.vault().is_some() {
        for (m, market) in markets.iter().enumerate() {
            let (lots, cost) = engine.vault_position(m);
            rows.push(BalanceRow::position(
                BalanceParty::Vault,
                None,
                &market.name,
                lots,
                cost.0,
                market.value(lots, marks[m]).0,
            ));
        }
    }
    rows
}
