/* module node: see its headers */
typedef int tn_node_unit_nonempty;
