// SPDX-License-Identifier: Apache-2.0
//! `vistalid code`: the offline code of an account (issue 16), after the PIN, with no
//! network; the seconds it stays valid are shown beside it.

use std::path::Path;

use vistalid_core::wallet::WalletError;

use crate::text;
use crate::ui::{self, exit};
use crate::wallet_cmds::{fail, open};

/// `vistalid code [--account ID]` (default: the first account).
pub(crate) async fn code(state_dir: &Path, account: Option<String>) -> u8 {
    let wallet = match open(state_dir) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let account = match account {
        Some(a) => a,
        None => match wallet.accounts() {
            Ok(list) => match list.first() {
                Some(a) => a.account_id.clone(),
                None => return fail(&WalletError::NotEnrolled),
            },
            Err(e) => return fail(&e),
        },
    };
    let pin = match ui::read_pin(&text::wallet::prompt_pin()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}", text::wallet::cannot_read_terminal(&e));
            return exit::FAILURE;
        }
    };
    match wallet.offline_code(&account, pin).await {
        Ok(c) => {
            println!("{}", text::offline::shown(&c.code, c.valid_for_secs));
            println!("  {}", text::offline::note());
            exit::OK
        }
        Err(WalletError::NoOfflineCode) => {
            eprintln!("{}", text::offline::none());
            exit::FAILURE
        }
        Err(e) => fail(&e),
    }
}
