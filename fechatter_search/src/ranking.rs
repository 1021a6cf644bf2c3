//! The one ranking formula of search: `GET /api/search` (fechatter_server) and the assistant's
//! passages (bot_server) both order `search_documents` rows by it, so a change to the ranking is
//! made here once and both agree.
//!
//! The score is the lexical rank (`ts_rank_cd`, normalised by 32: rank / (rank + 1)) blended with
//! the cosine similarity of the stored embedding and the query's (both unit vectors, so the dot
//! product), when they come from the same model and have the same dimension; else similarity is 0.

/// The SQL expression (a `real`) scoring the `search_documents` row aliased `doc` against the
/// `tsquery` expression `query`. `weight` (a `real`: the share of similarity), `model` (`text`)
/// and `vector` (`real[]`) are the placeholders of [`hybrid_binds`], e.g. `$6`, `$7`, `$8`.
pub fn hybrid_score_sql(doc: &str, query: &str, weight: &str, model: &str, vector: &str) -> String {
    format!(
        "((1 - {weight}) * coalesce(ts_rank_cd({doc}.tsv, {query}, 32), 0)
         + {weight} * CASE WHEN {doc}.embedding_model = {model}
                              AND cardinality({doc}.embedding) = cardinality({vector}::real[])
                         THEN (SELECT sum(a * b) FROM unnest({doc}.embedding, {vector}::real[]) AS v (a, b))
                         ELSE 0 END)::real"
    )
}

/// The query's embedding, its model and the share of the score similarity gets, when ranking is
/// hybrid.
pub type Similarity<'a> = Option<(&'a [f32], &'a str, f32)>;

/// The values bound to [`hybrid_score_sql`]'s `vector`, `model` and `weight`: without an embedding
/// the weight is 0 and the score is the lexical rank alone.
pub fn hybrid_binds(similarity: Similarity<'_>) -> (Option<&[f32]>, Option<&str>, f32) {
    match similarity {
        Some((vector, model, weight)) => (Some(vector), Some(model), weight),
        None => (None, None, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expression_names_the_given_row_query_and_placeholders() {
        let sql = hybrid_score_sql("c", "q.query", "$6", "$7", "$8");
        assert!(sql.contains("ts_rank_cd(c.tsv, q.query, 32)"), "{sql}");
        assert!(sql.contains("c.embedding_model = $7"), "{sql}");
        assert!(sql.contains("unnest(c.embedding, $8::real[])"), "{sql}");
        assert!(sql.starts_with("((1 - $6)"), "{sql}");
    }

    #[test]
    fn without_an_embedding_similarity_weighs_nothing() {
        assert_eq!(hybrid_binds(None), (None, None, 0.0));
        let vector = [0.6_f32, 0.8];
        assert_eq!(
            hybrid_binds(Some((&vector, "m", 0.3))),
            (Some(&vector[..]), Some("m"), 0.3)
        );
    }
}
