-- The menu's version, so order-service can price a confirm from its own copy of the menu
-- instead of reading it for every order (issue #13; figures in docs/BENCHMARKS.md, "Round 7").
--
-- Every change to what a confirm reads of a restaurant's menu (its categories, items, variants,
-- modifiers and stations) bumps `menu_version`, whoever makes it: the API, another instance or
-- a hand-written statement in psql. A confirm priced from a copy writes the order only if the
-- version is still the copy's (`storage::orders::confirm`); otherwise it writes nothing, and the
-- request reads the menu again. Menus change rarely, so a row trigger is cheap enough.
ALTER TABLE restaurants ADD COLUMN menu_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION bump_menu_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record;
BEGIN
    -- OLD's restaurant is NEW's: the foreign keys keep an entry at its restaurant.
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    IF TG_ARGV[0] = 'item' THEN
        -- Variants and modifiers belong to an item. (When the item itself is deleted its own
        -- trigger has bumped the version already, and this lookup finds nothing.)
        UPDATE restaurants SET menu_version = menu_version + 1
        WHERE id = (SELECT restaurant_id FROM menu_items WHERE id = changed.item_id);
    ELSE
        UPDATE restaurants SET menu_version = menu_version + 1 WHERE id = changed.restaurant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER menu_categories_version AFTER INSERT OR UPDATE OR DELETE ON menu_categories
    FOR EACH ROW EXECUTE FUNCTION bump_menu_version('restaurant');
CREATE TRIGGER menu_items_version AFTER INSERT OR UPDATE OR DELETE ON menu_items
    FOR EACH ROW EXECUTE FUNCTION bump_menu_version('restaurant');
CREATE TRIGGER stations_version AFTER INSERT OR UPDATE OR DELETE ON stations
    FOR EACH ROW EXECUTE FUNCTION bump_menu_version('restaurant');
CREATE TRIGGER menu_variants_version AFTER INSERT OR UPDATE OR DELETE ON menu_variants
    FOR EACH ROW EXECUTE FUNCTION bump_menu_version('item');
CREATE TRIGGER menu_modifiers_version AFTER INSERT OR UPDATE OR DELETE ON menu_modifiers
    FOR EACH ROW EXECUTE FUNCTION bump_menu_version('item');
