// cytoscape-fcose ships no types: the extension and the layout options the map uses.
declare module 'cytoscape-fcose' {
  import type cytoscape from 'cytoscape';

  /** Options of the `fcose` layout (see the package README). */
  export interface FcoseLayoutOptions extends cytoscape.BaseLayoutOptions {
    name: 'fcose';
    quality?: 'draft' | 'default' | 'proof';
    randomize?: boolean;
    animate?: boolean;
    animationDuration?: number;
    fit?: boolean;
    padding?: number;
    nodeDimensionsIncludeLabels?: boolean;
    uniformNodeDimensions?: boolean;
    packComponents?: boolean;
    nodeSeparation?: number;
    nodeRepulsion?: number | ((node: cytoscape.NodeSingular) => number);
    idealEdgeLength?: number | ((edge: cytoscape.EdgeSingular) => number);
    edgeElasticity?: number | ((edge: cytoscape.EdgeSingular) => number);
    nestingFactor?: number;
    numIter?: number;
    tile?: boolean;
    tilingPaddingVertical?: number;
    tilingPaddingHorizontal?: number;
    gravity?: number;
    gravityRangeCompound?: number;
    gravityCompound?: number;
    gravityRange?: number;
    initialEnergyOnIncremental?: number;
    fixedNodeConstraint?: { nodeId: string; position: { x: number; y: number } }[];
  }

  const fcose: cytoscape.Ext;
  export default fcose;
}
