//! Keyset pagination (`docs/design/api.md`): `?before=<id>&limit=` → `{items, next_before, has_more}`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::AppError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items with an id below this one (the previous page's `next_before`).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// A validated page request: items with an id below `before` (all when `None`), newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub before: Option<i64>,
    pub limit: i64,
}

impl PageQuery {
    pub fn validate(self) -> Result<PageRequest, AppError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::bad_request(
                "invalid_limit",
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        if self.before.is_some_and(|before| before < 1) {
            return Err(AppError::bad_request(
                "invalid_cursor",
                "before must be a positive id",
            ));
        }
        Ok(PageRequest {
            before: self.before,
            limit,
        })
    }
}

impl PageRequest {
    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_before: Option<i64>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `fetch_limit` rows in descending id order.
    pub fn from_rows(mut rows: Vec<T>, request: PageRequest, id: impl Fn(&T) -> i64) -> Self {
        let has_more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_before = if has_more { rows.last().map(id) } else { None };
        Self {
            items: rows,
            next_before,
            has_more,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_before: self.next_before,
            has_more: self.has_more,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_one_to_a_hundred_are_rejected() {
        for limit in [0, 101, -1] {
            let query = PageQuery {
                before: None,
                limit: Some(limit),
            };
            assert!(matches!(
                query.validate(),
                Err(AppError::BadRequest {
                    code: "invalid_limit",
                    ..
                })
            ));
        }
        assert_eq!(
            PageQuery::default().validate().ok(),
            Some(PageRequest {
                before: None,
                limit: 50
            })
        );
    }

    #[test]
    fn a_full_page_points_at_its_last_item() {
        let request = PageRequest {
            before: None,
            limit: 2,
        };
        let page = Page::from_rows(vec![9, 8, 7], request, |id| *id);
        assert_eq!(
            (page.items, page.next_before, page.has_more),
            (vec![9, 8], Some(8), true)
        );
        let last = Page::from_rows(vec![6, 5], request, |id| *id);
        assert_eq!((last.next_before, last.has_more), (None, false));
    }
}
