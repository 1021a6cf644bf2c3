-- The measurement behind docs/search.md: which index finds what, on PostgreSQL 15.
--   createdb -T template0 -E UTF8 --lc-ctype=C --lc-collate=C measure_c
--   psql -X -d measure_c -f docs/search-measurements.sql
-- Run it in a database with the C locale (what the tests' initdb --no-locale gives) and again in one
-- with C.utf8 / en_US.utf8 (the compose image), and compare.
\pset pager off
CREATE EXTENSION IF NOT EXISTS pg_trgm;
DROP TABLE IF EXISTS measure_docs;
-- search_text is the content lower-cased by the indexer (Rust's Unicode-aware to_lowercase), so
-- neither approach depends on the database's LC_CTYPE for case folding.
CREATE TABLE measure_docs (
    id          int PRIMARY KEY,
    content     text NOT NULL,
    search_text text NOT NULL,
    tsv         tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED
);
INSERT INTO measure_docs (id, content, search_text) VALUES
 (1, 'The deployment is scheduled for Friday', 'the deployment is scheduled for friday'),
 (2, 'Our error budget is burning fast', 'our error budget is burning fast'),
 (3, 'An error in the budget spreadsheet', 'an error in the budget spreadsheet'),
 (4, 'Logs are at https://logs.example.com/app/42?tail=1 today', 'logs are at https://logs.example.com/app/42?tail=1 today'),
 (5, 'Every response carries x-request-id for tracing', 'every response carries x-request-id for tracing'),
 (6, 'Die Größe der Datei ist zu hoch', 'die größe der datei ist zu hoch'),
 (7, 'Привет, команда! Релиз завтра', 'привет, команда! релиз завтра'),
 (8, '日本語のテキストを検索する', '日本語のテキストを検索する'),
 (9, 'request ids are random', 'request ids are random'),
 (10, 'We redeployed yesterday', 'we redeployed yesterday');
CREATE INDEX measure_docs_tsv ON measure_docs USING gin (tsv);
CREATE INDEX measure_docs_trgm ON measure_docs USING gin (search_text gin_trgm_ops);

-- Each case: the query as a user types it, the tsquery the search service builds from it (every
-- word a prefix, a quoted phrase adjacent words), the substring a trigram search would look for, and
-- the documents that must come back (and only those).
DROP TABLE IF EXISTS measure_cases;
CREATE TABLE measure_cases (name text, fts text, substring text, expected int[]);
INSERT INTO measure_cases VALUES
 ('word prefix deplo',         '''deplo'':*',                                '%deplo%',                          '{1}'),
 ('quoted phrase',             '''error budget''',                           '%error budget%',                   '{2}'),
 ('URL',                       '''https://logs.example.com/app/42?tail=1'':*', '%https://logs.example.com/app/42?tail=1%', '{4}'),
 ('URL prefix',                '''logs.example.com/app'':*',                  '%logs.example.com/app%',           '{4}'),
 ('dashed term',               '''x-request-id'':*',                          '%x-request-id%',                   '{5}'),
 ('German word',               '''größe'':*',                                 '%größe%',                          '{6}'),
 ('Russian word',              '''привет'':*',                                '%привет%',                         '{7}'),
 ('Japanese word at start',    '''日本語'':*',                                '%日本語%',                         '{8}'),
 ('Japanese word inside',      '''テキスト'':*',                              '%テキスト%',                       '{8}'),
 ('word inside a word',        '''deployed'':*',                              '%deployed%',                       '{}');

SELECT c.name,
       (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM measure_docs
         WHERE tsv @@ to_tsquery('simple', c.fts)) = c.expected AS fts_ok,
       (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM measure_docs
         WHERE search_text LIKE c.substring) = c.expected AS substring_ok,
       (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM measure_docs
         WHERE search_text LIKE c.substring) AS substring_found,
       cardinality(show_trgm(trim(both '%' from c.substring))) AS trigrams
FROM measure_cases c ORDER BY c.name;

-- Speed on a larger corpus: 200 000 synthetic messages, one rare word.
DROP TABLE IF EXISTS measure_big;
CREATE TABLE measure_big (id int PRIMARY KEY, search_text text NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED);
INSERT INTO measure_big
SELECT g, format('message %s about %s with ticket x-%s and %s', g,
                 (ARRAY['deploys','reviews','budgets','incidents','releases'])[1 + g % 5],
                 g % 9973, CASE WHEN g % 50000 = 7 THEN 'zanzibar'
                                WHEN g % 50000 = 8 THEN '日本語のテキスト' ELSE 'nothing' END)
FROM generate_series(1, 200000) g;
CREATE INDEX measure_big_tsv ON measure_big USING gin (tsv);
CREATE INDEX measure_big_trgm ON measure_big USING gin (search_text gin_trgm_ops);
ANALYZE measure_big;
SELECT pg_size_pretty(pg_relation_size('measure_big_tsv')) AS tsv_index,
       pg_size_pretty(pg_relation_size('measure_big_trgm')) AS trgm_index;
\timing on
SELECT count(*) FROM measure_big WHERE tsv @@ to_tsquery('simple', '''zanzi'':*');
SELECT count(*) FROM measure_big WHERE search_text LIKE '%zanzi%';
SELECT count(*) FROM measure_big WHERE tsv @@ to_tsquery('simple', '''x-997'':*');
SELECT count(*) FROM measure_big WHERE search_text LIKE '%x-997%';
SELECT count(*) FROM measure_big WHERE search_text LIKE '%テキスト%';
SELECT id FROM measure_big WHERE tsv @@ to_tsquery('simple', '''deplo'':*')
 ORDER BY ts_rank_cd(tsv, to_tsquery('simple', '''deplo'':*'), 32) DESC, id DESC LIMIT 20;
\timing off
DROP TABLE measure_big;
DROP TABLE measure_docs;
DROP TABLE measure_cases;
