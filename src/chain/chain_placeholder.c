/* module chain: see its headers */
typedef int tn_chain_unit_nonempty;
