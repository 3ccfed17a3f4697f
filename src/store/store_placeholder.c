/* module store: see its headers */
typedef int tn_store_unit_nonempty;
