-- The menu's version, so order-service can price a confirm from its own copy of the menu
-- instead of reading it for every order (issue #13; figures in docs/BENCHMARKS.md, "Round 7").
--
-- Every change to what a confirm reads of a restaurant's menu (its categories, items, variants,
-- modifiers and stations) bumps `menu_version`, whoever makes it: the API, another instance or
-- a hand-written statement in psql. A confirm priced from a copy writes the order only if the
-- version in its statement's snapshot is still the copy's (`storage::orders::confirm`), else
-- nothing, and the request reads the menu again.
--
-- The triggers are deferred to the commit, so a menu change holds the restaurant's row only
-- for its last moment and always takes it last (no lock-order cycle with other writers of the
-- menu rows). They fire per changed row, columns a confirm does not read included: menus
-- change rarely, and a needless bump costs one refused write and a read per instance.
-- (`session_replication_role = replica` or a disabled trigger would skip the bump: restart
-- order-service after such a change.)
ALTER TABLE restaurants ADD COLUMN menu_version bigint NOT NULL DEFAULT 0;

-- For categories, items and stations, which name their restaurant. An update bumps the old
-- restaurant and the new, should a row ever be moved in psql.
CREATE FUNCTION bump_menu_version_of_restaurant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE restaurants SET menu_version = menu_version + 1;
    ELSIF TG_OP = 'INSERT' THEN
        UPDATE restaurants SET menu_version = menu_version + 1 WHERE id = NEW.restaurant_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE restaurants SET menu_version = menu_version + 1 WHERE id = OLD.restaurant_id;
    ELSE
        UPDATE restaurants SET menu_version = menu_version + 1
        WHERE id IN (OLD.restaurant_id, NEW.restaurant_id);
    END IF;
    RETURN NULL;
END
$$;

-- For variants and modifiers, which belong to an item. (When the item itself is deleted, its
-- own trigger bumps the version, and this lookup finds nothing.)
CREATE FUNCTION bump_menu_version_of_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE restaurants SET menu_version = menu_version + 1;
    ELSIF TG_OP = 'INSERT' THEN
        UPDATE restaurants SET menu_version = menu_version + 1
        WHERE id IN (SELECT restaurant_id FROM menu_items WHERE id = NEW.item_id);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE restaurants SET menu_version = menu_version + 1
        WHERE id IN (SELECT restaurant_id FROM menu_items WHERE id = OLD.item_id);
    ELSE
        UPDATE restaurants SET menu_version = menu_version + 1
        WHERE id IN (SELECT restaurant_id FROM menu_items WHERE id IN (OLD.item_id, NEW.item_id));
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER menu_categories_version AFTER INSERT OR UPDATE OR DELETE ON menu_categories
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_menu_version_of_restaurant();
CREATE CONSTRAINT TRIGGER menu_items_version AFTER INSERT OR UPDATE OR DELETE ON menu_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_menu_version_of_restaurant();
CREATE CONSTRAINT TRIGGER stations_version AFTER INSERT OR UPDATE OR DELETE ON stations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_menu_version_of_restaurant();
CREATE CONSTRAINT TRIGGER menu_variants_version AFTER INSERT OR UPDATE OR DELETE ON menu_variants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_menu_version_of_item();
CREATE CONSTRAINT TRIGGER menu_modifiers_version AFTER INSERT OR UPDATE OR DELETE ON menu_modifiers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_menu_version_of_item();

CREATE TRIGGER menu_categories_truncated AFTER TRUNCATE ON menu_categories
    FOR EACH STATEMENT EXECUTE FUNCTION bump_menu_version_of_restaurant();
CREATE TRIGGER menu_items_truncated AFTER TRUNCATE ON menu_items
    FOR EACH STATEMENT EXECUTE FUNCTION bump_menu_version_of_restaurant();
CREATE TRIGGER stations_truncated AFTER TRUNCATE ON stations
    FOR EACH STATEMENT EXECUTE FUNCTION bump_menu_version_of_restaurant();
CREATE TRIGGER menu_variants_truncated AFTER TRUNCATE ON menu_variants
    FOR EACH STATEMENT EXECUTE FUNCTION bump_menu_version_of_item();
CREATE TRIGGER menu_modifiers_truncated AFTER TRUNCATE ON menu_modifiers
    FOR EACH STATEMENT EXECUTE FUNCTION bump_menu_version_of_item();
